"""
Caption search on PostgreSQL asks one text per captioned video too (as SQLite does since 0004):
a GIN index on the English text vector of ``teaching_videocaptiontext``, which
teaching.search.cue_match_q matches with ``to_tsvector('english', text) @@ query``. The cues'
own index (0002) stays for the "at 12:34" matches of a results page.
"""

from django.db import migrations

INDEX = "teaching_captiontext_fts_pg"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON teaching_videocaptiontext USING gin (to_tsvector('english', text))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("teaching", "0004_caption_text")]

    operations = [migrations.RunPython(create, drop)]
