"""
The text side of library/search.py: the denormalised search terms, synonyms from admin,
phrases, stop words, weights and typo tolerance. Runs on both databases.
"""

import io

import pytest
from django.db import connection
from django.test import RequestFactory

from library import search
from library.models import SearchSynonym
from teaching import services as teaching_services
from tests.factories import CategoryFactory, SurgeonFactory, TagFactory, VideoFactory
from videos.models import Video

pytestmark = pytest.mark.django_db


def titles(user, q, **filters):
    query = RequestFactory().get("/", {"q": q, **filters}).GET
    return [video.title for video in search.run(user=user, params=search.parse_params(query))]


def terms(video):
    video.refresh_from_db()
    return video.search_terms


def test_search_terms_follow_tags_surgeons_and_category_everywhere(uploader):
    tag = TagFactory(name="Whipple")
    category = CategoryFactory(name="Hepatobiliary")
    surgeon = SurgeonFactory(name="Dr Okafor")
    video = VideoFactory(uploader=uploader, title="Case 1", tags=[tag], category=category, surgeons=[surgeon])
    assert set(terms(video).split(" · ")) == {"Whipple", "Hepatobiliary", "Dr Okafor"}

    tag.name = "Pancreaticoduodenectomy"
    tag.save()  # a rename in admin reaches every video
    assert "Pancreaticoduodenectomy" in terms(video) and "Whipple" not in terms(video)
    surgeon.delete()
    assert "Okafor" not in terms(video)
    category.delete()
    assert terms(video) == "Pancreaticoduodenectomy"
    tag.videos.clear()  # from the tag's side
    assert terms(video) == ""


def test_a_word_in_any_field_is_found_and_title_ranks_first(uploader, viewer):
    tag = TagFactory(name="Strabismus")
    VideoFactory(uploader=uploader, title="In the transcript", transcript="then the strabismus hook")
    VideoFactory(uploader=uploader, title="In the description", description="Adult strabismus repair")
    VideoFactory(uploader=uploader, title="Strabismus in the title")
    VideoFactory(uploader=uploader, title="In a tag", tags=[tag])
    VideoFactory(uploader=uploader, title="Elsewhere", description="squint")
    assert titles(viewer, "strabismus") == [
        "Strabismus in the title",
        "In a tag",
        "In the description",
        "In the transcript",
    ]


def test_category_and_surgeon_names_are_searchable(uploader, viewer):
    VideoFactory(uploader=uploader, title="Case A", category=CategoryFactory(name="Vitreoretinal"))
    VideoFactory(uploader=uploader, title="Case B", surgeons=[SurgeonFactory(name="Dr Nakamura")])
    assert titles(viewer, "vitreoretinal") == ["Case A"]
    assert titles(viewer, "nakamura") == ["Case B"]


def test_seeded_synonyms_widen_a_word(uploader, viewer):
    VideoFactory(uploader=uploader, title="Phacoemulsification step by step")
    VideoFactory(uploader=uploader, title="Paediatric cataract")
    VideoFactory(uploader=uploader, title="Kids glaucoma")
    assert sorted(titles(viewer, "phaco")) == ["Paediatric cataract", "Phacoemulsification step by step"]
    assert sorted(titles(viewer, "children")) == ["Kids glaucoma", "Paediatric cataract"]
    # Every unit must still match: cataract-words AND child-words.
    assert titles(viewer, "cataract pediatric") == ["Paediatric cataract"]


def test_synonyms_edited_in_admin_apply_at_once(uploader, viewer, staff_client):
    VideoFactory(uploader=uploader, title="Trabeculectomy with MMC")
    assert titles(viewer, "filtering") == []
    response = staff_client.post(
        "/admin/library/searchsynonym/add/", {"term": "trabeculectomy", "synonyms": "filtering surgery, trab"}
    )
    assert response.status_code == 302, response.content
    assert titles(viewer, "filtering surgery") == ["Trabeculectomy with MMC"]
    assert titles(viewer, "trab") == ["Trabeculectomy with MMC"]
    SearchSynonym.objects.filter(term="trabeculectomy").delete()
    assert titles(viewer, "filtering surgery") == []


def test_quoted_phrases_and_stop_words(uploader, viewer):
    VideoFactory(uploader=uploader, title="Posterior capsule tear management")
    VideoFactory(uploader=uploader, title="Tear of the posterior capsule")
    assert sorted(titles(viewer, "capsule tear")) == [
        "Posterior capsule tear management",
        "Tear of the posterior capsule",
    ]
    assert titles(viewer, '"capsule tear"') == ["Posterior capsule tear management"]
    # "of the" are ignored, not required.
    assert len(titles(viewer, "tear of the capsule")) == 2


def test_query_units_and_highlight_terms():
    assert search.query_units("") == []
    assert search.query_units("the of") == []
    units = search.query_units('Phaco "Capsule  tear" in kids')
    assert units[0][0] == "phaco" and "phacoemulsification" in units[0]
    assert units[1] == ("capsule tear",)
    assert units[2][0] == "kids" and "paediatric" in units[2]
    highlighted = search.highlight_terms(search.query_units("phaco tear"))
    assert highlighted[0] == "phacoemulsification" and "tear" in highlighted
    assert len(search.query_units(" ".join(f"w{i}" for i in range(20)))) == search.MAX_UNITS


def test_odd_queries_never_fail(uploader, viewer):
    video = VideoFactory(uploader=uploader, title="C++ & <b>bold</b> (test)", duration=60)
    # Captions too, so that each query also reaches the caption match and a page's moments.
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nC++ & 'bold' <-> x:* ñandú 🙂\n"
    teaching_services.caption_add(user=uploader, video=video, data=vtt.encode(), language="en", label="English")
    for q in ['"', '""', "&|!:*", "'; DROP TABLE videos_video; --", "ñandú", "a" * 500, "🙂", "x:*", "<->"]:
        titles(viewer, q)  # no exception on either database
    assert titles(viewer, "bold") == ["C++ & <b>bold</b> (test)"]


def test_typos_are_forgiven_and_words_stemmed_on_both_databases(uploader, viewer):
    """PostgreSQL by pg_trgm; SQLite by the catalogue's vocabulary (library.vocabulary, issue #15)."""
    tag = TagFactory(name="Cholecystectomy")
    VideoFactory(uploader=uploader, title="Laparoscopic cholecystectomy", tags=[tag])
    VideoFactory(uploader=uploader, title="Open hernia repair", surgeons=[SurgeonFactory(name="Dr Fitzgerald")])
    assert titles(viewer, "laparoscpic") == ["Laparoscopic cholecystectomy"]
    assert titles(viewer, "cholecystectmy") == ["Laparoscopic cholecystectomy"]
    assert titles(viewer, "fitzgerlad") == ["Open hernia repair"]
    assert titles(viewer, "repairs") == ["Open hernia repair"]  # English stemming
    assert titles(viewer, "chole") == ["Laparoscopic cholecystectomy"]  # prefix


def test_postgres_migration_created_the_index(uploader):
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            columns = [c.name for c in connection.introspection.get_table_description(cursor, "videos_video")]
        assert "search_vector" not in columns
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'videos_video'")
        names = {row[0] for row in cursor.fetchall()}
    assert {"video_search_vector_idx", "video_title_trgm_idx", "video_search_terms_trgm_idx"} <= names


def test_rebuild_search_index_mends_rows_written_around_the_signals(uploader, viewer):
    from django.core.management import call_command

    video = VideoFactory(uploader=uploader, title="Case X", tags=[TagFactory(name="Keratoconus")])
    Video.objects.filter(pk=video.pk).update(search_terms="")  # as a raw bulk import would leave it
    assert titles(viewer, "keratoconus") == []
    out = io.StringIO()
    call_command("rebuild_search_index", stdout=out)
    assert "1 updated" in out.getvalue()
    assert titles(viewer, "keratoconus") == ["Case X"]


def test_sqlite_search_reads_the_fts5_index_which_follows_every_change(uploader, viewer):
    from django.test.utils import CaptureQueriesContext

    from videos import search_index

    if connection.vendor != "sqlite":
        assert not search_index.ensure_sqlite_fts(connection)  # PostgreSQL has its own index
        return
    assert search_index.sqlite_fts_ready(connection)
    video = VideoFactory(uploader=uploader, title="Vitrectomy basics", tags=[TagFactory(name="Retina")])
    with CaptureQueriesContext(connection) as queries:
        assert titles(viewer, "vitrectomy retina") == ["Vitrectomy basics"]
    assert any("video_fts MATCH" in query["sql"] for query in queries)
    Video.objects.filter(pk=video.pk).update(title="Scleral buckle")  # triggers, not signals
    assert titles(viewer, "vitrectomy") == []
    assert titles(viewer, "buckle") == ["Scleral buckle"]
    assert titles(viewer, "ab") == []  # under three letters: the LIKE path, still correct
    video.delete()
    assert titles(viewer, "buckle") == []
    # Django rebuilds SQLite tables on some migrations, losing triggers: they come back.
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER video_fts_update")
    connection._svl_fts_ready = None
    assert not search_index.sqlite_fts_ready(connection)
    assert search_index.ensure_sqlite_fts(connection)
