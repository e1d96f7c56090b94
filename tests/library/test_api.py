"""Library API: resume across devices, views, history, favourites, playlists — and nobody else's."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import roles
from library import services
from library.models import Favorite, Playlist, ViewEvent, WatchProgress
from tests.factories import VideoFactory, ViewEventFactory
from videos.models import Video

pytestmark = pytest.mark.django_db


def progress_url(v):
    return f"/api/v1/videos/{v.uuid}/progress/"


def test_progress_round_trip_and_thresholds(viewer_api, uploader, viewer):
    v = VideoFactory(uploader=uploader, duration=1000)
    assert viewer_api.get(progress_url(v)).json()["position"] == 0
    # The first 5 % is not worth resuming.
    assert viewer_api.put(progress_url(v), {"position": 30, "duration": 1000}, format="json").json()["position"] == 0
    assert not WatchProgress.objects.exists()
    saved = viewer_api.put(progress_url(v), {"position": 600, "duration": 1000}, format="json").json()
    assert saved["position"] == 600 and saved["percent"] == 60 and not saved["completed"]
    # Another device reads the same position.
    assert viewer_api.get(progress_url(v)).json()["position"] == 600
    assert viewer_api.get(f"/api/v1/videos/{v.uuid}/").json()["position"] == 600
    # 90 % and more: completed, and the next play starts over.
    done = viewer_api.put(progress_url(v), {"position": 950}, format="json").json()
    assert done["completed"] is True and done["position"] == 0 and done["percent"] == 100


def test_sendbeacon_post_saves_too(viewer_api, uploader):
    v = VideoFactory(uploader=uploader, duration=1000)
    assert viewer_api.post(progress_url(v), {"position": 500}, format="json").status_code == 200
    assert WatchProgress.objects.get().position == 500


@pytest.mark.parametrize("body", [{"position": -1}, {"position": "abc"}, {}, {"position": 5000}, {"position": "NaN"}])
def test_bad_positions_are_400(viewer_api, uploader, body):
    v = VideoFactory(uploader=uploader, duration=1000)
    response = viewer_api.put(progress_url(v), body, format="json")
    assert response.status_code == 400
    assert "position" in response.json()
    assert not WatchProgress.objects.exists()


def test_progress_for_an_invisible_video_is_404(viewer_api, uploader):
    hidden = VideoFactory(uploader=uploader, duration=1000, status="processed")
    assert viewer_api.put(progress_url(hidden), {"position": 500}, format="json").status_code == 404
    assert viewer_api.get(progress_url(hidden)).status_code == 404


def test_views_count_once_per_window_and_sessions_accumulate(api, viewer, uploader):
    v = VideoFactory(uploader=uploader, duration=1000)
    first, counted = services.view_record(user=viewer, video=v)
    again, counted_again = services.view_record(user=viewer, video=v)
    v.refresh_from_db()
    assert v.views == 1 and first.pk == again.pk
    assert (counted, counted_again) == (True, False)
    # Watching adds the time actually spent (not seeks).
    ViewEvent.objects.filter(pk=first.pk).update(last_seen_at=timezone.now() - timedelta(seconds=10))
    services.progress_save(user=viewer, video=v, position=100)
    ViewEvent.objects.filter(pk=first.pk).update(last_seen_at=timezone.now() - timedelta(seconds=10))
    services.progress_save(user=viewer, video=v, position=900)  # a seek far ahead
    first.refresh_from_db()
    assert 9 < first.seconds_watched < 25
    # Hours later it is a new viewing session.
    ViewEvent.objects.filter(pk=first.pk).update(last_seen_at=timezone.now() - timedelta(hours=7))
    services.view_record(user=viewer, video=v)
    v.refresh_from_db()
    assert v.views == 2
    assert ViewEvent.objects.filter(user=viewer, video=v).count() == 2


def test_history_lists_only_mine_with_total_time(viewer_api, api, viewer, uploader, make_user):
    a, b = VideoFactory.create_batch(2, uploader=uploader, duration=1000)
    services.progress_save(user=viewer, video=a, position=300)
    services.progress_save(user=viewer, video=b, position=700)
    other = make_user(roles.VIEWER, username="otto")
    services.progress_save(user=other, video=a, position=800)
    ViewEventFactory(user=viewer, video=a, seconds_watched=125)
    body = viewer_api.get("/api/v1/history/").json()
    assert [row["video"]["id"] for row in body["results"]] == [str(b.uuid), str(a.uuid)]
    assert body["results"][0]["percent"] == 70
    assert body["total_seconds_watched"] == 125
    assert viewer_api.delete(f"/api/v1/history/{a.uuid}/").status_code == 204
    assert viewer_api.delete(f"/api/v1/history/{a.uuid}/").status_code == 404
    assert viewer_api.delete("/api/v1/history/").status_code == 204
    assert not WatchProgress.objects.filter(user=viewer).exists()
    assert WatchProgress.objects.filter(user=other).exists()


def test_favorites_are_idempotent_and_sorted_by_date(viewer_api, viewer, uploader):
    a, b = VideoFactory.create_batch(2, uploader=uploader, duration=1000)
    for _ in range(2):
        assert viewer_api.put(f"/api/v1/videos/{a.uuid}/favorite/").status_code == 200
    assert Favorite.objects.filter(user=viewer).count() == 1
    viewer_api.put(f"/api/v1/videos/{b.uuid}/favorite/")
    Favorite.objects.filter(video=b).update(created_at=timezone.now() + timedelta(seconds=5))
    listed = viewer_api.get("/api/v1/favorites/").json()["results"]
    assert [row["video"]["id"] for row in listed] == [str(b.uuid), str(a.uuid)]
    assert all(row["video"]["is_favorite"] for row in listed)
    for _ in range(2):
        assert viewer_api.delete(f"/api/v1/videos/{a.uuid}/favorite/").status_code == 200
    assert viewer_api.get(f"/api/v1/videos/{a.uuid}/").json()["is_favorite"] is False


def test_favorite_of_an_invisible_video_is_404(viewer_api, uploader):
    failed = VideoFactory(uploader=uploader, duration=1000, status="failed")
    assert viewer_api.put(f"/api/v1/videos/{failed.uuid}/favorite/").status_code == 404


def test_seed_favorite_idempotent(api, uploader):
    """Seed acceptance test 8, strict: favouriting twice answers 200 both times."""
    v = VideoFactory(uploader=uploader, duration=1000, status="published")
    api.force_authenticate(uploader)
    assert [api.put(f"/api/v1/videos/{v.uuid}/favorite/").status_code for _ in range(2)] == [200, 200]


def test_seed_ownership_enforced(api, uploader, make_user):
    """Seed acceptance test 9: another user cannot change a video (403 on a visible one)."""
    v = VideoFactory(uploader=uploader, duration=1000, status="published")
    api.force_authenticate(make_user(roles.VIEWER, username="user2"))
    assert api.patch(f"/api/v1/videos/{v.uuid}/", {"title": "x"}, format="json").status_code == 403


def test_lists_cost_a_constant_number_of_queries(viewer_api, viewer, uploader, django_assert_num_queries):
    # count, page, its videos, their tags, their surgeons (+ the history's total time watched)
    lists = {"/api/v1/history/": 6, "/api/v1/favorites/": 5}

    def fill(n):
        WatchProgress.objects.all().delete()
        Favorite.objects.all().delete()
        Video.objects.all().delete()
        for v in VideoFactory.create_batch(n, uploader=uploader, duration=1000):
            services.progress_save(user=viewer, video=v, position=500)
            services.favorite_set(user=viewer, video=v)

    fill(1)
    for url in lists:
        viewer_api.get(url)  # warm the per-request user cache (roles) so only list queries are counted
    for n in (2, 10):
        fill(n)
        for url, queries in lists.items():
            with django_assert_num_queries(queries):
                assert viewer_api.get(url).status_code == 200


# --------------------------------------------------------------------------- playlists


def test_playlist_lifecycle_with_clips_and_reorder(viewer_api, viewer, uploader):
    a, b, c = VideoFactory.create_batch(3, uploader=uploader, duration=1000)
    created = viewer_api.post(
        "/api/v1/playlists/", {"title": "Key steps", "description": "Teaching reel"}, format="json"
    )
    assert created.status_code == 201
    pid = created.json()["id"]
    items_url = f"/api/v1/playlists/{pid}/items/"
    ids = []
    for v, clip in [(a, {}), (b, {"start_time": 120, "end_time": 300}), (c, {})]:
        response = viewer_api.post(items_url, {"video": str(v.uuid), **clip}, format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    listed = viewer_api.get(items_url).json()
    assert [row["video"]["id"] for row in listed] == [str(a.uuid), str(b.uuid), str(c.uuid)]
    assert listed[1]["start_time"] == 120 and listed[1]["end_time"] == 300
    reordered = viewer_api.post(f"{items_url}reorder/", {"order": [ids[2], ids[0], ids[1]]}, format="json")
    assert reordered.status_code == 200
    assert [row["id"] for row in viewer_api.get(items_url).json()] == [ids[2], ids[0], ids[1]]
    assert viewer_api.post(f"{items_url}reorder/", {"order": [ids[0], ids[1]]}, format="json").status_code == 400
    assert viewer_api.delete(f"{items_url}{ids[0]}/").status_code == 204
    assert [row["position"] for row in viewer_api.get(items_url).json()] == [0, 1]
    renamed = viewer_api.patch(f"/api/v1/playlists/{pid}/", {"title": "Renamed"}, format="json").json()
    assert renamed["title"] == "Renamed" and renamed["description"] == "Teaching reel"  # not blanked
    assert viewer_api.delete(f"/api/v1/playlists/{pid}/").status_code == 204


@pytest.mark.parametrize(
    "clip,field",
    [
        ({"start_time": 300, "end_time": 100}, "end_time"),
        ({"end_time": 5000}, "end_time"),
        ({"start_time": -5}, "start_time"),
    ],
)
def test_bad_clips_are_400(viewer_api, viewer, uploader, clip, field):
    v = VideoFactory(uploader=uploader, duration=1000)
    pid = services.playlist_create(user=viewer, title="P").pk
    response = viewer_api.post(f"/api/v1/playlists/{pid}/items/", {"video": str(v.uuid), **clip}, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_unplayable_or_invisible_videos_cannot_be_added(viewer_api, viewer, uploader, make_user):
    pid = services.playlist_create(user=viewer, title="P").pk
    url = f"/api/v1/playlists/{pid}/items/"
    hidden = VideoFactory(uploader=uploader, duration=1000, status="processed")
    assert viewer_api.post(url, {"video": str(hidden.uuid)}, format="json").status_code == 400
    # The uploader sees their own pending video, but it cannot be played yet.
    own = make_user(roles.VIEWER, roles.UPLOADER, username="upl")
    pending = VideoFactory(uploader=own, duration=1000, status="pending")
    mine = services.playlist_create(user=own, title="Mine")
    viewer_api.force_authenticate(own)
    response = viewer_api.post(f"/api/v1/playlists/{mine.pk}/items/", {"video": str(pending.uuid)}, format="json")
    assert response.status_code == 400
    assert "not ready" in response.json()["video"][0]


def test_private_playlists_are_404_to_others_and_shared_ones_read_only(api, viewer, uploader, make_user):
    private = services.playlist_create(user=uploader, title="Private")
    shared = services.playlist_create(user=uploader, title="Shared", is_shared=True)
    api.force_authenticate(viewer)
    assert api.get(f"/api/v1/playlists/{private.pk}/").status_code == 404
    assert api.get(f"/api/v1/playlists/{private.pk}/items/").status_code == 404
    assert api.patch(f"/api/v1/playlists/{private.pk}/", {"title": "x"}, format="json").status_code == 404
    assert api.delete(f"/api/v1/playlists/{private.pk}/").status_code == 404
    assert api.get(f"/api/v1/playlists/{shared.pk}/").status_code == 200
    assert api.patch(f"/api/v1/playlists/{shared.pk}/", {"title": "x"}, format="json").status_code == 403
    assert [p["title"] for p in api.get("/api/v1/playlists/").json()["results"]] == ["Shared"]
    assert Playlist.objects.get(pk=shared.pk).title == "Shared"


def test_viewers_cannot_share_playlists(viewer_api):
    response = viewer_api.post("/api/v1/playlists/", {"title": "Mine", "is_shared": True}, format="json")
    assert response.status_code == 400
    assert "is_shared" in response.json()
