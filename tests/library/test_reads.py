"""
The library's reads are written once and both doors (pages and API) call them: history,
favourites, time watched, related videos and the search. Each test here is a drift the two
doors had, or the mechanism that keeps them from drifting (issue #13, items 3 and 5).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from library import search, services
from library.models import WatchProgress
from tests.factories import (
    CategoryFactory,
    FavoriteFactory,
    TagFactory,
    VideoFactory,
    ViewEventFactory,
    WatchProgressFactory,
)
from videos.models import Video

pytestmark = pytest.mark.django_db


def test_time_watched_is_the_same_number_on_the_page_and_in_the_api(viewer_client, viewer_api, viewer, uploader):
    """Drift: the history page truncated the total (59.6 s → 59), the API rounded it (→ 60)."""
    ViewEventFactory(user=viewer, video=VideoFactory(uploader=uploader, duration=1000), seconds_watched=59.6)
    page = viewer_client.get("/library/history/").context["total_seconds"]
    assert viewer_api.get("/api/v1/history/").json()["total_seconds_watched"] == 60
    assert page == 60


def test_history_lists_the_same_entries_in_the_same_order_on_the_page_and_in_the_api(
    viewer_client, viewer_api, viewer, uploader
):
    """
    Hidden videos on neither door; rows saved in the same instant newest row first on both (their
    order was left to the query plan, so the API's pages could repeat or skip one).
    """
    now = timezone.now()
    shown = VideoFactory.create_batch(3, uploader=uploader, duration=1000)
    hidden = VideoFactory(uploader=uploader, duration=1000, status="processed")
    for v in [*shown, hidden]:
        WatchProgressFactory(user=viewer, video=v, position=300, duration=1000, updated_at=now)
    expected = [str(v.uuid) for v in reversed(shown)]
    page = [str(entry.video.uuid) for entry in viewer_client.get("/library/history/").context["entries"]]
    api_rows = [row["video"]["id"] for row in viewer_api.get("/api/v1/history/").json()["results"]]
    assert api_rows == expected
    assert page == expected


def test_favourites_come_in_the_same_order_on_home_the_favourites_page_and_the_api(
    viewer_client, viewer_api, viewer, uploader
):
    """Drift: home listed favourites of the same instant oldest first, the page and the API newest first."""
    now = timezone.now()
    videos = VideoFactory.create_batch(3, uploader=uploader, duration=1000)
    for v in videos:
        FavoriteFactory(user=viewer, video=v, created_at=now)
    FavoriteFactory(
        user=viewer, video=VideoFactory(uploader=uploader, duration=1000, status="processed"), created_at=now
    )
    expected = [str(v.uuid) for v in reversed(videos)]
    api_rows = [row["video"]["id"] for row in viewer_api.get("/api/v1/favorites/").json()["results"]]
    page = [str(row.video.uuid) for row in viewer_client.get("/library/favorites/").context["rows"]]
    home = [str(v.uuid) for v in viewer_client.get("/").context["favorites"]]
    assert api_rows == expected
    assert page == expected
    assert home == expected


def test_continue_watching_is_the_unfinished_part_of_the_history(viewer_client, viewer, uploader):
    started, finished, restarted = VideoFactory.create_batch(3, uploader=uploader, duration=1000)
    services.progress_save(user=viewer, video=started, position=500)
    services.progress_save(user=viewer, video=finished, position=990)
    services.progress_save(user=viewer, video=restarted, position=500)
    services.progress_save(user=viewer, video=restarted, position=10)  # back to the start: no bookmark
    continuing = [entry.video for entry in viewer_client.get("/").context["continuing"]]
    assert continuing == [started]
    assert list(WatchProgress.objects.history_for(viewer).resumable()) == [WatchProgress.objects.get(video=started)]


def test_related_videos_are_one_read_for_the_page_and_the_api(viewer_api, viewer, uploader):
    laparoscopy = TagFactory(name="Laparoscopy")
    general = CategoryFactory(name="General")
    base = VideoFactory(uploader=uploader, duration=1000, category=general, tags=[laparoscopy])
    both = VideoFactory(uploader=uploader, duration=1000, category=general, views=1, tags=[laparoscopy])
    same_category = VideoFactory(uploader=uploader, duration=1000, category=general, views=50)
    VideoFactory(uploader=uploader, duration=1000, category=general, status="processed")  # not published: never related
    VideoFactory(uploader=uploader, duration=1000)  # shares nothing
    base = Video.objects.with_catalogue().get(pk=base.pk)
    related = list(Video.objects.related_for(base, viewer))
    assert related == [both, same_category]
    assert related[0].is_favorite is False  # ready to show: viewer state annotated
    body = viewer_api.get(f"/api/v1/videos/{base.uuid}/related/").json()
    assert [row["id"] for row in body] == [str(both.uuid), str(same_category.uuid)]


def test_the_viewer_state_comes_from_what_library_registered():
    from videos import models as video_models

    annotations = {}
    for annotate in video_models.viewer_state_annotations:
        annotations.update(annotate(None))
    assert {"is_favorite", "position", "watch_completed"} <= set(annotations)


# ------------------------------------------------------------------------------ search


@pytest.fixture
def count_query_units(monkeypatch):
    calls = []
    original = search.query_units

    def counted(q):
        calls.append(q)
        return original(q)

    monkeypatch.setattr(search, "query_units", counted)
    return calls


@pytest.mark.parametrize(
    "url",
    [
        "/library/search/?q=hernia+repair",
        "/api/v1/videos/?q=hernia+repair",
        "/library/search/?q=hernia&ordering=title",
        "/api/v1/videos/?q=hernia&facets=0",
    ],
)
def test_a_search_splits_its_query_once_per_request(viewer_client, viewer_api, uploader, count_query_units, url):
    found = VideoFactory(uploader=uploader, duration=1000, title="Hernia repair")
    from videos import search_index

    search_index.refresh([found.pk])
    door = viewer_api if url.startswith("/api/") else viewer_client
    response = door.get(url)
    assert response.status_code == 200
    assert count_query_units == [url.split("q=")[1].split("&")[0].replace("+", " ")]


def test_the_page_and_the_api_find_count_and_facet_the_same_videos(viewer_client, viewer_api, uploader):
    general = CategoryFactory(name="General")
    found = [
        VideoFactory(
            uploader=uploader,
            duration=1000,
            title="Whipple step",
            category=general if n % 2 else None,
            created_at=timezone.now() - timedelta(minutes=n),
        )
        for n in range(1, 31)
    ]
    from videos import search_index

    search_index.refresh([v.pk for v in found])
    page = viewer_client.get("/library/search/?q=whipple&page=2").context
    body = viewer_api.get("/api/v1/videos/?q=whipple&page=2").json()
    assert body["count"] == page["page_obj"].paginator.count == 30
    assert [row["id"] for row in body["results"]] == [str(v.uuid) for v in page["page_obj"].object_list]
    assert body["facets"]["categories"] == [
        {key: row[key] for key in ("name", "slug", "count")} for row in page["facets"]["categories"]
    ]
