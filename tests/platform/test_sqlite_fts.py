"""
core.sqlite_fts: the FTS5 index helper that videos (video_fts) and teaching (teaching_captiontext_fts)
declare theirs with. Here on a table of its own, so the generic part is proved apart from them.
"""

import pytest
from django.db import connection

from core.sqlite_fts import SqliteFts5Index
from teaching import search as teaching_search
from videos import search_index

pytestmark = pytest.mark.django_db

NOTES = SqliteFts5Index(name="test_note_fts", table="test_note", columns=("title", "body"))


@pytest.fixture
def notes_table():
    if connection.vendor != "sqlite":
        pytest.skip("FTS5 is SQLite's")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_note (id integer PRIMARY KEY, title text, body text)")
        cursor.execute("INSERT INTO test_note (id, title, body) VALUES (1, 'Cholecystectomy', 'critical view')")
    return NOTES


def found(index, *terms) -> list[int]:
    query = index.matching_rowids(terms)
    with connection.cursor() as cursor:
        cursor.execute(query.sql + " ORDER BY rowid", query.params)
        return [row[0] for row in cursor.fetchall()]


def test_an_index_is_made_filled_and_kept_by_its_triggers(notes_table):
    index = notes_table
    assert not index.ready(connection)
    assert index.ensure(connection)  # made, and filled with the row already there
    assert found(index, "cholecyst") == [1]
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO test_note (id, title, body) VALUES (2, 'Appendix', 'a \"quoted\" word')")
        cursor.execute("UPDATE test_note SET body = 'fundus first' WHERE id = 1")
    assert found(index, "critical") == []
    assert found(index, "fundus", '"quoted"') == [1, 2]  # any of the terms; quotes are a phrase's own
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM test_note WHERE id = 2")
    assert found(index, "appendix") == []
    # A migration that rebuilds the table drops its triggers: no longer ready, and ensure puts them back.
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_note_fts_update")
    setattr(connection, index.cache_attribute, None)
    assert not index.ready(connection)
    assert index.ensure(connection)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE test_note SET title = 'Whipple' WHERE id = 1")
    assert found(index, "whipple") == [1]


def test_short_terms_and_other_databases_do_not_use_the_index(notes_table):
    assert notes_table.ensure(connection)
    assert notes_table.usable_for(connection, ["fundus", "cvs"])
    assert not notes_table.usable_for(connection, ["fundus", "ab"])  # under three letters: not in a trigram index


def test_identifiers_must_be_plain():
    with pytest.raises(ValueError, match="Not a plain SQL identifier: 'x; DROP TABLE y'"):
        SqliteFts5Index(name="x; DROP TABLE y", table="t", columns=("a",))


def test_the_apps_declare_their_indexes_with_it():
    assert (search_index.VIDEO_FTS.table, search_index.VIDEO_FTS.columns) == (
        "videos_video",
        ("title", "search_terms", "description", "transcript"),
    )
    assert (teaching_search.CAPTION_TEXT_FTS.table, teaching_search.CAPTION_TEXT_FTS.columns) == (
        "teaching_videocaptiontext",
        ("text",),
    )
    assert search_index.sqlite_fts_ready == search_index.VIDEO_FTS.ready
