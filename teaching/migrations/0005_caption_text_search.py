"""
Caption search on PostgreSQL asks one text per captioned video too (as SQLite does since 0004):
the English text vector of ``teaching_videocaptiontext`` as a stored generated column
(``vector``, not in the model: only teaching.search reads it) with a GIN index. Stored, because
an expression index on ``to_tsvector`` of an hour of captions leaves the planner free to
compute it per row of a sequential scan (measured: 200 ms at 1 000 videos). The cues' own index
(0002) stays for the "at 12:34" matches of a results page.
"""

from django.db import migrations

INDEX = "teaching_captiontext_vector"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE teaching_videocaptiontext ADD COLUMN IF NOT EXISTS vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"
        )
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON teaching_videocaptiontext USING gin (vector)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
        schema_editor.execute("ALTER TABLE teaching_videocaptiontext DROP COLUMN IF EXISTS vector")


class Migration(migrations.Migration):
    dependencies = [("teaching", "0004_caption_text")]

    operations = [migrations.RunPython(create, drop)]
