"""Search, filters, ordering and facets (library/search.py through GET /api/v1/videos/)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.factories import CategoryFactory, SurgeonFactory, TagFactory, VideoFactory
from videos.models import Surgeon, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(uploader):
    lap = TagFactory(name="Laparoscopy")
    chole = TagFactory(name="Cholecystectomy")
    eye = TagFactory(name="Phaco")
    general = CategoryFactory(name="General surgery")
    ophtho = CategoryFactory(name="Ophthalmology")
    rao = SurgeonFactory(name="Dr Rao")
    iyer = SurgeonFactory(name="Dr Iyer")

    def make(n, title, *, tags, category, surgeon, minutes, operated, description="", views=0):
        video = VideoFactory(
            uploader=uploader,
            title=title,
            description=description,
            status="published",
            duration=minutes * 60,
            category=category,
            date_of_surgery=operated,
            views=views,
            created_at=timezone.now() - timedelta(days=n),
            tags=tags,
            surgeons=[surgeon],
        )
        return video

    return {
        "lap1": make(
            1,
            "Laparoscopic cholecystectomy, difficult Calot",
            tags=[lap, chole],
            category=general,
            surgeon=rao,
            minutes=40,
            operated=date(2025, 5, 1),
            views=10,
        ),
        "lap2": make(
            2,
            "Gallbladder removal teaching",
            tags=[lap, chole],
            category=general,
            surgeon=iyer,
            minutes=95,
            operated=date(2024, 1, 10),
            description="A laparoscopic approach",
            views=50,
        ),
        "eye": make(
            3,
            "Phacoemulsification basics",
            tags=[eye],
            category=ophtho,
            surgeon=iyer,
            minutes=12,
            operated=date(2025, 8, 2),
            views=5,
        ),
    }


def ids(response):
    assert response.status_code == 200, response.content
    return [row["title"].split(",")[0] for row in response.json()["results"]]


def test_text_search_ranks_title_above_description(api, viewer, catalogue):
    api.force_authenticate(viewer)
    assert ids(api.get("/api/v1/videos/?q=laparoscopic")) == [
        "Laparoscopic cholecystectomy",
        "Gallbladder removal teaching",
    ]


def test_every_word_must_match_somewhere(api, viewer, catalogue):
    api.force_authenticate(viewer)
    assert ids(api.get("/api/v1/videos/?q=rao cholecystectomy")) == ["Laparoscopic cholecystectomy"]
    assert ids(api.get("/api/v1/videos/?q=iyer phaco")) == ["Phacoemulsification basics"]
    assert ids(api.get("/api/v1/videos/?q=nothing-like-this")) == []


def test_the_seed_question_in_one_search(api, viewer, catalogue):
    """Every laparoscopic cholecystectomy by Dr Rao under 45 minutes from last year."""
    api.force_authenticate(viewer)
    rao = Surgeon.objects.get(name="Dr Rao").pk
    url = (
        f"/api/v1/videos/?q=cholecystectomy&tags=laparoscopy&surgeons={rao}&duration_max=2700"
        "&date_from=2025-01-01&date_to=2025-12-31"
    )
    assert ids(api.get(url)) == ["Laparoscopic cholecystectomy"]


def test_tags_any_and_all(api, viewer, catalogue):
    api.force_authenticate(viewer)
    assert len(ids(api.get("/api/v1/videos/?tags=phaco,cholecystectomy"))) == 3
    assert ids(api.get("/api/v1/videos/?tags=phaco&tags=laparoscopy&tags_mode=all")) == []
    assert len(ids(api.get("/api/v1/videos/?tags=LAPAROSCOPY&tags=cholecystectomy&tags_mode=all"))) == 2


def test_orderings_and_empty_relevance(api, viewer, catalogue):
    api.force_authenticate(viewer)
    assert ids(api.get("/api/v1/videos/?ordering=relevance")) == [
        "Laparoscopic cholecystectomy",
        "Gallbladder removal teaching",
        "Phacoemulsification basics",
    ]
    assert ids(api.get("/api/v1/videos/?ordering=-views"))[0] == "Gallbladder removal teaching"
    assert ids(api.get("/api/v1/videos/?ordering=duration"))[0] == "Phacoemulsification basics"
    assert ids(api.get("/api/v1/videos/?ordering=title"))[0] == "Gallbladder removal teaching"


def test_facets_count_the_current_results(api, viewer, catalogue):
    api.force_authenticate(viewer)
    body = api.get("/api/v1/videos/?q=laparoscopic").json()
    facets = body["facets"]
    assert facets["categories"] == [{"name": "General surgery", "slug": "general-surgery", "count": 2}]
    assert {t["name"]: t["count"] for t in facets["tags"]} == {"Cholecystectomy": 2, "Laparoscopy": 2}
    assert {s["name"]: s["count"] for s in facets["surgeons"]} == {"Dr Iyer": 1, "Dr Rao": 1}
    assert {b["key"]: b["count"] for b in facets["duration"]} == {
        "lt15": 0,
        "15-45": 1,
        "45-90": 0,
        "90-180": 1,
        "gt180": 0,
    }
    assert "facets" not in api.get("/api/v1/videos/?facets=0").json()


def test_search_never_shows_what_the_user_may_not_see(api, viewer, catalogue, uploader):
    VideoFactory(
        uploader=uploader,
        title="Laparoscopic secret draft",
        status="processed",
        duration=60,
    )
    api.force_authenticate(viewer)
    assert "Laparoscopic secret draft" not in ids(api.get("/api/v1/videos/?q=laparoscopic"))
    body = api.get("/api/v1/videos/?q=secret").json()
    assert body["count"] == 0 and body["facets"]["duration"][1]["count"] == 0


@pytest.mark.parametrize(
    "query,param",
    [
        ("duration_min=abc", "duration_min"),
        ("duration_max=-5", "duration_max"),
        ("date_from=yesterday", "date_from"),
        ("uploaded_to=2026-13-01", "uploaded_to"),
        ("surgeons=dr-rao", "surgeons"),
        ("ordering=random", "ordering"),
        ("status=deleted", "status"),
        ("tags_mode=some", "tags_mode"),
    ],
)
def test_malformed_parameters_are_400_naming_them(api, viewer, query, param):
    api.force_authenticate(viewer)
    response = api.get(f"/api/v1/videos/?{query}")
    assert response.status_code == 400
    assert param in response.json()


def _many(uploader, count: int, title: str) -> list[Video]:
    videos = Video.objects.bulk_create(
        VideoFactory.build(
            uploader=uploader,
            title=f"{title} {n:02d}",
            status="published",
            duration=60 * (n + 1),
            views=n,
            created_at=timezone.now() - timedelta(hours=n),
        )
        for n in range(count)
    )
    from videos import search_index

    search_index.refresh([video.pk for video in videos])
    return videos


@pytest.mark.parametrize("limit", [5000, 3])  # ids read once, and the QuerySet path past the limit
def test_text_search_pages_count_and_facets_agree_with_the_plain_query(api, viewer, uploader, limit, monkeypatch):
    from library import search

    monkeypatch.setattr(search, "MATCH_ID_LIMIT", limit)
    _many(uploader, 30, "Whipple step")  # two pages of 24
    api.force_authenticate(viewer)
    seen = []
    for page in (1, 2):
        body = api.get(f"/api/v1/videos/?q=whipple&ordering=-views&page={page}").json()
        assert body["count"] == 30
        assert sum(bucket["count"] for bucket in body["facets"]["duration"]) == 30
        seen += [row["title"] for row in body["results"]]
    assert seen == [f"Whipple step {n:02d}" for n in range(29, -1, -1)]
    assert api.get("/api/v1/videos/?q=whipple&page=3").status_code == 404


def test_a_text_search_runs_its_match_once(api, viewer, uploader):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _many(uploader, 30, "Whipple step")
    api.force_authenticate(viewer)
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/api/v1/videos/?q=whipple").json()
    assert body["count"] == 30 and len(body["results"]) == 24
    marker = "search_vector" if connection.vendor == "postgresql" else "video_fts"
    matching = [q["sql"] for q in queries.captured_queries if marker in q["sql"]]
    probes = [sql for sql in matching if sql.startswith("WITH found")]  # PostgreSQL: is a typo search needed?
    assert len(matching) - len(probes) == 1, matching
    assert len(probes) <= 1


def test_listing_facets_are_shared_only_by_people_who_see_the_same_videos(
    api, viewer, uploader, make_user, monkeypatch
):
    """Large sets' counts are cached; a draft must never be counted for someone who cannot see it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts import roles
    from library import search

    monkeypatch.setattr(search, "FACET_ID_LIMIT", 1)  # every listing takes the large, cached path
    drafts = CategoryFactory(name="Drafts only")
    _many(uploader, 3, "Published case")
    VideoFactory(
        uploader=uploader,
        title="My draft",
        status="processed",
        category=drafts,
    )
    other = make_user(roles.VIEWER, username="other-viewer")

    def categories(user):
        api.force_authenticate(user)
        body = api.get("/api/v1/videos/").json()
        return {row["name"]: row["count"] for row in body["facets"]["categories"]}, body["count"]

    assert categories(uploader) == ({"Drafts only": 1}, 4)  # the uploader sees their draft
    assert categories(viewer) == ({}, 3)  # nobody else does, cached or not
    assert categories(other) == ({}, 3)
    api.force_authenticate(other)
    with CaptureQueriesContext(connection) as queries:
        api.get("/api/v1/videos/")
    assert not any("GROUP BY" in q["sql"] for q in queries.captured_queries)  # shared with `viewer`
    api.force_authenticate(uploader)
    mine = api.get("/api/v1/videos/?mine=1&status=processed").json()
    assert mine["count"] == 1
