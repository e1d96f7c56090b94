"""Home, history and favourites pages: content, ownership, and a constant number of queries."""

import pytest

from accounts import roles
from library import services
from library.models import Favorite, WatchProgress
from tests.factories import (
    CategoryFactory,
    FavoriteFactory,
    SurgeonFactory,
    TagFactory,
    VideoFactory,
    WatchProgressFactory,
)
from videos.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(db):
    """What a card shows beyond the title: poster, duration, category, tag and surgeon."""
    return {
        "has_poster": True,
        "duration": 1200,
        "category": CategoryFactory(name="General"),
        "tags": [TagFactory(name="Laparoscopy")],
        "surgeons": [SurgeonFactory(name="Dr Rao")],
    }


@pytest.mark.parametrize("url,queries", [("/", 23), ("/library/history/", 14), ("/library/favorites/", 13)])
def test_pages_cost_a_constant_number_of_queries(
    client, viewer, uploader, card, url, queries, django_assert_num_queries
):
    client.force_login(viewer)

    def fill(n):
        WatchProgress.objects.all().delete()
        Favorite.objects.all().delete()
        Video.objects.all().delete()
        for v in VideoFactory.create_batch(n, uploader=uploader, **card):
            services.progress_save(user=viewer, video=v, position=600)
            services.favorite_set(user=viewer, video=v)

    fill(1)
    client.get(url)  # warm the session and the per-request caches
    for n in (2, 8):
        fill(n)
        with django_assert_num_queries(queries):
            assert client.get(url).status_code == 200


def test_home_shows_continue_watching_with_progress(client, viewer, uploader, card):
    v = VideoFactory(uploader=uploader, title="Case 1", **card)
    services.progress_save(user=viewer, video=v, position=600)
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert "Continue watching" in html
    assert f"/videos/{v.uuid}/?t=600" in html
    assert 'value="50"' in html  # the progress bar
    assert f"/api/v1/videos/{v.uuid}/media/poster.jpg?token=" in html


def test_history_is_mine_only_and_can_be_cleared(client, viewer, uploader, make_user, card):
    a, b = (
        VideoFactory(uploader=uploader, title="Case 1", **card),
        VideoFactory(uploader=uploader, title="Case 2", **card),
    )
    services.progress_save(user=viewer, video=a, position=600)
    other = make_user(roles.VIEWER, username="otto")
    services.progress_save(user=other, video=b, position=600)
    client.force_login(viewer)
    html = client.get("/library/history/").content.decode()
    assert "Case 1" in html and "Case 2" not in html
    client.post(f"/library/history/{a.uuid}/remove/")
    assert not WatchProgress.objects.filter(user=viewer).exists()
    services.progress_save(user=viewer, video=b, position=600)
    client.post("/library/history/clear/")
    assert not WatchProgress.objects.filter(user=viewer).exists()
    assert WatchProgress.objects.filter(user=other).exists()


def test_unpublished_videos_never_appear(client, viewer, uploader, card):
    hidden = VideoFactory(uploader=uploader, title="Case 1", **card, status="processed")
    WatchProgressFactory(user=viewer, video=hidden, position=100, duration=1200)
    FavoriteFactory(user=viewer, video=hidden)
    client.force_login(viewer)
    for url in ["/", "/library/history/", "/library/favorites/"]:
        assert "Case 1" not in client.get(url).content.decode()


def test_favourite_fallback_form_and_removal(client, viewer, uploader, card):
    v = VideoFactory(uploader=uploader, title="Case 1", **card)
    client.force_login(viewer)
    client.post(f"/library/favorites/{v.uuid}/", {"on": "1"})
    assert Favorite.objects.filter(user=viewer, video=v).exists()
    assert "Case 1" in client.get("/library/favorites/").content.decode()
    client.post(f"/library/favorites/{v.uuid}/", {"on": "0"})
    assert not Favorite.objects.filter(user=viewer).exists()


def test_open_redirect_is_refused_on_the_favourite_form(client, viewer, uploader, card):
    v = VideoFactory(uploader=uploader, title="Case 1", **card)
    client.force_login(viewer)
    response = client.post(f"/library/favorites/{v.uuid}/", {"on": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/library/favorites/"
