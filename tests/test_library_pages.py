"""Home, history and favourites pages: content, ownership, and a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import roles
from library import services
from library.models import Favorite, WatchProgress
from videos.models import Category, Surgeon, Tag, Video, VideoSurgeon

pytestmark = pytest.mark.django_db


def video(uploader, n, status="published"):
    v = Video.objects.create(
        uploader=uploader,
        title=f"Case {n}",
        md5=f"{n:032x}",
        size_bytes=n,
        status=status,
        duration=1200,
        category=Category.objects.get_or_create(name="General")[0],
        has_poster=True,
    )
    v.tags.set([Tag.objects.get_or_create(name="Laparoscopy")[0]])
    VideoSurgeon.objects.create(video=v, surgeon=Surgeon.objects.get_or_create(name="Dr Rao")[0])
    return v


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content.decode()


@pytest.mark.parametrize("url", ["/", "/library/history/", "/library/favorites/"])
def test_pages_cost_a_constant_number_of_queries(client, viewer, uploader, url):
    client.force_login(viewer)

    def fill(n):
        WatchProgress.objects.all().delete()
        Favorite.objects.all().delete()
        Video.objects.all().delete()
        for i in range(n):
            v = video(uploader, i + 1)
            services.progress_save(user=viewer, video=v, position=600)
            services.favorite_set(user=viewer, video=v)
        return queries(client, url)[0]

    fill(1)
    assert fill(2) == fill(8)


def test_home_shows_continue_watching_with_progress(client, viewer, uploader):
    v = video(uploader, 1)
    services.progress_save(user=viewer, video=v, position=600)
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert "Continue watching" in html
    assert f"/videos/{v.uuid}/?t=600" in html
    assert 'value="50"' in html  # the progress bar
    assert f"/api/v1/videos/{v.uuid}/media/poster.jpg?token=" in html


def test_history_is_mine_only_and_can_be_cleared(client, viewer, uploader, make_user):
    a, b = video(uploader, 1), video(uploader, 2)
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


def test_unpublished_videos_never_appear(client, viewer, uploader):
    hidden = video(uploader, 1, status="processed")
    WatchProgress.objects.create(user=viewer, video=hidden, position=100, duration=1200)
    Favorite.objects.create(user=viewer, video=hidden)
    client.force_login(viewer)
    for url in ["/", "/library/history/", "/library/favorites/"]:
        assert "Case 1" not in client.get(url).content.decode()


def test_favourite_fallback_form_and_removal(client, viewer, uploader):
    v = video(uploader, 1)
    client.force_login(viewer)
    client.post(f"/library/favorites/{v.uuid}/", {"on": "1"})
    assert Favorite.objects.filter(user=viewer, video=v).exists()
    assert "Case 1" in client.get("/library/favorites/").content.decode()
    client.post(f"/library/favorites/{v.uuid}/", {"on": "0"})
    assert not Favorite.objects.filter(user=viewer).exists()


def test_open_redirect_is_refused_on_the_favourite_form(client, viewer, uploader):
    v = video(uploader, 1)
    client.force_login(viewer)
    response = client.post(f"/library/favorites/{v.uuid}/", {"on": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/library/favorites/"
