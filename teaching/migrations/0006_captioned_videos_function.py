"""
PostgreSQL: ``teaching_captioned_videos(tsquery)``, the ids of the videos whose caption text
matches, always through the GIN index of 0005.

Left to itself the planner scans the table instead: it sees a few thousand small rows and cannot
see that testing each one means reading an hour of captions' vector from TOAST (measured at
100 000 videos, 2 000 of them captioned: 13-22 ms a word by scanning, 0.6 ms by the index). The
function's own ``SET enable_seqscan = off`` holds only while it runs. library.search asks for
``id = ANY(ARRAY(SELECT teaching_captioned_videos(...)))``: an array the planner can OR with the
videos' own full-text index (BitmapOr), where an ``IN (subquery)`` left it testing the text of
every candidate video.

The cues' own GIN index (0002) goes: the "at 12:34" matches of a results page now read each
page video's cues in timeline order (teaching.search.caption_matches) and nothing asks it.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION teaching_captioned_videos(query tsquery) RETURNS SETOF bigint
LANGUAGE sql STABLE PARALLEL SAFE ROWS 100
SET enable_seqscan = off
AS $$ SELECT video_id FROM teaching_videocaptiontext WHERE vector @@ query $$
"""


CUE_INDEX = "teaching_cue_text_fts"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)
        schema_editor.execute(f"DROP INDEX IF EXISTS {CUE_INDEX}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS teaching_captioned_videos(tsquery)")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {CUE_INDEX} ON teaching_captioncue USING gin (to_tsvector('english', text))"
        )


class Migration(migrations.Migration):
    dependencies = [("teaching", "0005_caption_text_search")]

    operations = [migrations.RunPython(create, drop)]
