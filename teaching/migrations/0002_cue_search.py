"""
Caption text search on PostgreSQL: a GIN index on the cues' English text vector, which
teaching.search matches with ``to_tsvector('english', text) @@ query``. SQLite matches the
cues by containment (no index needed for the tests; see the README's Teaching section).
"""

from django.db import migrations

INDEX = "teaching_cue_text_fts"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON teaching_captioncue USING gin (to_tsvector('english', text))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("teaching", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
