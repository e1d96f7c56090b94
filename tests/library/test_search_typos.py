"""
Typo tolerance on SQLite (issue #15, library/vocabulary.py): a query word the catalogue does
not know is searched as its closest catalogue word too, and the page and the API say
"Showing results for …". Words come from published titles and tag/surgeon/category names only.
"""

import pytest
from django.db import connection
from django.urls import reverse

from library import search, vocabulary
from tests.factories import SurgeonFactory, TagFactory, VideoFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor == 'postgresql'", reason="PostgreSQL forgives typos with pg_trgm"),
]


@pytest.fixture
def catalogue(uploader):
    VideoFactory(uploader=uploader, title="Laparoscopic cholecystectomy", tags=[TagFactory(name="Gallbladder")])
    VideoFactory(uploader=uploader, title="Open hernia repair", surgeons=[SurgeonFactory(name="Dr Fitzgerald")])
    VideoFactory(uploader=uploader, title="Secret pancreatoduodenectomy", status="processed", publishable=False)


@pytest.mark.parametrize(
    ("q", "corrected"),
    [
        ("laparoscpic", {"laparoscpic": "laparoscopic"}),
        ("cholecystectmy", {"cholecystectmy": "cholecystectomy"}),
        ("gallbladdr", {"gallbladdr": "gallbladder"}),
        ("fitzgerlad hernia", {"fitzgerlad": "fitzgerald"}),
        ("laparoscopic", {}),  # known
        ("chole", {}),  # the start of a known word: typing in progress
        ("hip", {}),  # too short to guess
        ("xylophone", {}),  # nothing close
        ("pancreatoduodenectmy", {}),  # only an unpublished title holds it: never suggested
    ],
)
def test_corrections(catalogue, q, corrected):
    assert vocabulary.corrections(search.query_units(q)) == corrected


def test_the_search_page_finds_and_says_what_it_searched(viewer_client, catalogue):
    html = viewer_client.get(reverse("library:search") + "?q=Laparoscpic").content.decode()
    assert "1 result for “Laparoscpic”" in html
    assert (
        '<p class="mt-2 text-sm text-slate-700 dark:text-slate-300" data-showing-for>Showing results for '
        '<strong class="font-semibold">laparoscopic</strong>, as well as what you typed.</p>'
    ) in html
    assert ">Laparoscopic</mark> cholecystectomy</a>" in html  # found, and the catalogue word marked
    plain = viewer_client.get(reverse("library:search") + "?q=hernia").content.decode()
    assert "data-showing-for" not in plain


def test_the_api_finds_and_says_what_it_searched(viewer_api, catalogue):
    body = viewer_api.get("/api/v1/videos/", {"q": "open fitzgerlad"}).json()
    assert [row["title"] for row in body["results"]] == ["Open hernia repair"]
    assert body["showing_results_for"] == "open fitzgerald"
    body = viewer_api.get("/api/v1/videos/", {"q": "hernia"}).json()
    assert body["showing_results_for"] == ""
    assert viewer_api.get("/api/v1/videos/", {"q": "pancreatoduodenectmy"}).json()["count"] == 0


def test_a_new_word_is_learnt_when_the_vocabulary_is_renewed(viewer, uploader, catalogue):
    from django.core.cache import cache

    assert vocabulary.corrections(search.query_units("keratoplsty")) == {}
    VideoFactory(uploader=uploader, title="Penetrating keratoplasty")
    cache.delete(vocabulary.VOCABULARY_CACHE_KEY)  # what VOCABULARY_SECONDS does in production
    assert vocabulary.corrections(search.query_units("keratoplsty")) == {"keratoplsty": "keratoplasty"}
    assert connection.vendor == "sqlite"
