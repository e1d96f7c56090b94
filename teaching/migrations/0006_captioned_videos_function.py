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

``teaching_cue_matches(video, config, query, n)``: the first ``n`` cues of one video that match,
in timeline order, read through the (video, start) index until ``n`` are found — the "at 12:34"
moments of a results page (teaching.search.caption_matches). Its ``SET enable_sort = off``
keeps the planner from reading every cue of the video to sort them (measured: 126 ms against
19 ms for a page of 24 captioned videos). The cues' own GIN index (0002) goes: nothing asks it.
"""

from django.db import migrations

CAPTIONED_VIDEOS = """
CREATE OR REPLACE FUNCTION teaching_captioned_videos(query tsquery) RETURNS SETOF bigint
LANGUAGE sql STABLE PARALLEL SAFE ROWS 100
SET enable_seqscan = off
AS $$ SELECT video_id FROM teaching_videocaptiontext WHERE vector @@ query $$
"""

CUE_MATCHES = """
CREATE OR REPLACE FUNCTION teaching_cue_matches(video bigint, config regconfig, query tsquery, n integer)
RETURNS TABLE(at_seconds double precision, cue_text text)
LANGUAGE sql STABLE PARALLEL SAFE ROWS 3
SET enable_sort = off
AS $$
    SELECT cue.start, cue.text FROM teaching_captioncue AS cue
    WHERE cue.video_id = video AND to_tsvector(config, cue.text) @@ query
    ORDER BY cue.start
    LIMIT n
$$
"""


CUE_INDEX = "teaching_cue_text_fts"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CAPTIONED_VIDEOS)
        schema_editor.execute(CUE_MATCHES)
        schema_editor.execute(f"DROP INDEX IF EXISTS {CUE_INDEX}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS teaching_captioned_videos(tsquery)")
        schema_editor.execute("DROP FUNCTION IF EXISTS teaching_cue_matches(bigint, regconfig, tsquery, integer)")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {CUE_INDEX} ON teaching_captioncue USING gin (to_tsvector('english', text))"
        )


class Migration(migrations.Migration):
    dependencies = [("teaching", "0005_caption_text_search")]

    operations = [migrations.RunPython(create, drop)]
