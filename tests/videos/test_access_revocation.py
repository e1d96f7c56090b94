"""
Issue #12, access and revocation: who gets a frame, a key or a playlist, and for how long
after they should not. Each test failed on the code before its fix (see the commit).
"""

from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts import roles
from accounts import services as account_services
from library.models import Playlist, ViewEvent
from tests.factories import PlaylistFactory, PlaylistItemFactory, VideoFactory
from tests.videos_helpers import key_uri, uris
from videos import delivery, services
from videos.models import Video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

User = get_user_model()


def local(url: str) -> str:
    """The path and query of a URL (the test client speaks to the app, not a host)."""
    parts = urlparse(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def handed_out(client, user, video) -> dict:
    """Every signed URL a signed-in ``user`` is given for ``video`` (then signed out)."""
    client.force_login(user)
    detail = client.get(f"/api/v1/videos/{video.uuid}/").json()
    variant = uris(client.get(f"/api/v1/videos/{video.uuid}/hls/master.m3u8").content.decode())[0]
    text = client.get(variant).content.decode()
    sprite = client.get(local(detail["storyboard_url"])).content.decode().splitlines()[3].split("#")[0]
    client.logout()
    return {
        "hls_url": local(detail["hls_url"]),
        "variant": variant,
        "key": key_uri(text),
        "segment": uris(text)[0],
        "poster": local(detail["poster_url"]),
        "storyboard": local(detail["storyboard_url"]),
        "sprite": sprite,
    }


def statuses(client, urls: dict) -> dict:
    return {name: client.get(url).status_code for name, url in urls.items()}


ALL_OK = {name: 200 for name in ["hls_url", "variant", "key", "segment", "poster", "storyboard", "sprite"]}


# ------------------------------------------------------------------------------ 1. no role, nothing


def test_an_account_without_a_role_gets_no_video_key_image_or_playlist(client, api, published, make_user, viewer):
    nobody = make_user(username="nora")  # approved and active, but no role was ticked
    # A viewer's search warms the shared facet counts first: the role-less account must not get them.
    api.force_authenticate(viewer)
    assert api.get("/api/v1/videos/").json()["facets"]["categories"][0]["count"] == 1

    api.force_authenticate(nobody)
    listing = api.get("/api/v1/videos/")
    assert listing.status_code == 200
    assert listing.json()["count"] == 0
    assert listing.json()["results"] == []
    assert all(entry["count"] == 0 for entry in listing.json()["facets"]["categories"])
    base = f"/api/v1/videos/{published.uuid}"
    assert api.get(f"{base}/").status_code == 404
    assert api.get(f"{base}/hls/master.m3u8").status_code == 404
    assert api.get(f"{base}/related/").status_code == 404
    assert api.put(f"{base}/progress/", {"position": 1}, format="json").status_code == 404
    assert api.put(f"{base}/favorite/").status_code == 404
    assert api.post(f"{base}/views/").status_code == 404
    assert api.get("/api/v1/playlists/").json()["results"] == []
    created = api.post("/api/v1/playlists/", {"title": "My cases"}, format="json")
    assert created.status_code == 403
    assert not Playlist.objects.filter(owner=nobody).exists()

    # Signed URLs minted for the account (as if handed out while it had a role) open no key.
    tag = delivery.stamp_tag(nobody) if hasattr(delivery, "stamp_tag") else ""
    sign = delivery.sign
    extra = {"tag": tag} if tag else {}
    key = sign(scope="key", video_uuid=published.uuid, user_id=nobody.pk, ttl=600, **extra)
    master = sign(scope="master", video_uuid=published.uuid, user_id=nobody.pk, ttl=600, **extra)
    assert client.get(f"{base}/hls/key?token={key}").status_code == 404
    assert client.get(f"{base}/hls/master.m3u8?token={master}").status_code == 404

    # Pages.
    client.force_login(nobody)
    assert client.get(f"/videos/{published.uuid}/").status_code == 404
    pages = ["/", "/library/search/?q=chole", "/library/categories/", "/library/categories/hepatobiliary/"]
    for page in [*pages, "/library/tags/", "/library/surgeons/", "/library/history/", "/library/favorites/"]:
        response = client.get(page)
        assert response.status_code == 200, page  # listing nothing (the category page too)
        assert "Lap chole" not in response.content.decode(), page
        assert str(published.uuid) not in response.content.decode(), page
    assert client.post("/library/playlists/new/", {"title": "My cases"}).status_code == 403
    assert not Playlist.objects.filter(owner=nobody).exists()


def test_removing_every_role_ends_what_was_already_handed_out(client, published, viewer):
    urls = handed_out(client, viewer, published)
    assert statuses(client, urls) == ALL_OK
    account_services.user_set_roles(actor=None, user=viewer, role_names=[])
    assert statuses(client, urls) == {name: 401 for name in ALL_OK}


# ------------------------------------------------------------------------------ 2. revocation


def _password_change(user):
    account_services.password_change(user=user, old_password="Correct-Horse-9!", new_password="Another-Horse-42!")


def _sign_out_everywhere(user):
    account_services.sign_out_everywhere(actor=None, user=user)


def _forced_password_change(user):
    account_services.password_force_change(actor=None, user=user)


def _lost_approval(user):
    # No door un-approves an account today (a directory sync may); the rule must hold anyway.
    User.objects.filter(pk=user.pk).update(approval_status=User.Approval.REJECTED)


def _deactivated(user):
    account_services.user_set_active(actor=None, user=user, active=False)


def _locked(user):
    account_services.user_lock(actor=None, user=user)


# The key is refused as a void token (401), or, for an account that lost its approval (its
# tokens still verify), as no such key for this user (404).
@pytest.mark.parametrize(
    "revoke,key_status",
    [
        (_password_change, 401),
        (_sign_out_everywhere, 401),
        (_forced_password_change, 401),
        (_lost_approval, 404),
        (_deactivated, 401),
        (_locked, 401),
    ],
)
def test_signed_master_and_key_die_with_the_account_state(client, published, viewer, revoke, key_status):
    urls = handed_out(client, viewer, published)
    assert statuses(client, {"hls_url": urls["hls_url"], "key": urls["key"]}) == {"hls_url": 200, "key": 200}
    revoke(viewer)
    assert client.get(urls["hls_url"]).status_code == 401
    assert client.get(urls["key"]).status_code == key_status
    assert client.get(urls["key"]).content != bytes(published.hls_key)


def test_a_key_token_carries_the_stamp_it_was_issued_under(client, published, viewer):
    """Even without the revocation list, a key token signed before a password change does not match."""
    urls = handed_out(client, viewer, published)
    _password_change(viewer)
    from videos import revocation

    User.objects.filter(pk=viewer.pk).update(tokens_revoked_at=None)  # take the revocation list out of play
    revocation.forget()
    assert client.get(urls["key"]).status_code == 404
    assert client.get(urls["hls_url"]).status_code == 401
    # The segments are encrypted: without the key they are noise; fresh URLs work again.
    fresh = handed_out(client, viewer, published)
    assert statuses(client, fresh) == ALL_OK


# ------------------------------------------------------------------------------ 3. frames after withdrawal


@pytest.mark.parametrize("withdraw", ["archive", "reject"])
def test_withdrawing_a_video_ends_every_frame_handed_out(client, published, viewer, make_user, withdraw):
    urls = handed_out(client, viewer, published)
    assert statuses(client, urls) == ALL_OK
    approver = make_user(roles.VIEWER, roles.APPROVER, username="appy2")
    if withdraw == "archive":
        services.video_archive(user=approver, video=published)
    else:
        services.video_reject(user=approver, video=published, reason="A face is visible at 00:42")
    assert statuses(client, urls) == {name: 401 for name in ALL_OK}
    # Published again: the old URLs stay void, fresh ones work.
    services.video_publish(user=approver, video=published)
    assert statuses(client, urls) == {name: 401 for name in ALL_OK}
    assert statuses(client, handed_out(client, viewer, published)) == ALL_OK


def test_deactivating_an_account_ends_its_images(client, published, viewer):
    urls = handed_out(client, viewer, published)
    _deactivated(viewer)
    assert statuses(client, urls) == {name: 401 for name in ALL_OK}


def test_revocation_reaches_other_processes_within_the_refresh_period(client, published, viewer, settings, make_user):
    """Another process learns of a withdrawal from the database, not from the signal."""
    from videos import revocation

    urls = handed_out(client, viewer, published)
    settings.MEDIA_REVOCATION_REFRESH_SECONDS = 3600
    revocation.forget()
    assert client.get(urls["poster"]).status_code == 200  # snapshot loaded, nothing revoked
    # A withdrawal written by "another process": the row only, no local signal.
    Video.objects.filter(pk=published.pk).update(status=Video.Status.ARCHIVED, media_revoked_at=timezone.now())
    assert client.get(urls["poster"]).status_code == 200  # this process's snapshot is an hour stale by choice
    settings.MEDIA_REVOCATION_REFRESH_SECONDS = 0
    assert client.get(urls["poster"]).status_code == 401


def test_the_fast_path_reads_the_revocations_at_most_once_per_period(
    client, published, viewer, django_assert_num_queries
):
    from videos import revocation

    urls = handed_out(client, viewer, published)
    revocation.forget()
    with django_assert_num_queries(2):  # the snapshot: withdrawn videos, revoked users
        assert client.get(urls["segment"]).status_code == 200
    with django_assert_num_queries(0):
        for name in ["segment", "variant", "poster", "sprite"]:
            assert client.get(urls[name]).status_code == 200


# ------------------------------------------------------------------------------ views counted on playback


def test_opening_a_page_or_a_playlist_counts_no_view(client, published, viewer):
    client.force_login(viewer)
    assert client.get(f"/videos/{published.uuid}/").status_code == 200
    assert client.get(f"/api/v1/videos/{published.uuid}/hls/master.m3u8").status_code == 200
    published.refresh_from_db()
    assert published.views == 0
    assert not ViewEvent.objects.filter(video=published).exists()


def test_a_view_starts_when_the_player_reports_playback(client, published, viewer):
    client.force_login(viewer)
    url = f"/api/v1/videos/{published.uuid}/views/"
    first = client.post(url, HTTP_X_CSRFTOKEN="ignored-by-the-test-client")
    assert first.status_code == 200
    assert first.json() == {"counted": True, "views": 1}
    assert client.post(url).json() == {"counted": False, "views": 1}  # the same viewing session
    [session] = ViewEvent.objects.filter(video=published, user=viewer)
    assert session.ip_address == "127.0.0.1"


def test_a_cross_site_post_cannot_forge_a_view(published, viewer):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(viewer)
    response = browser.post(f"/api/v1/videos/{published.uuid}/views/")
    assert response.status_code == 403
    assert not ViewEvent.objects.filter(video=published).exists()


def test_a_view_of_a_video_still_processing_is_refused(client, api, uploader, media, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    video = VideoFactory(uploader=uploader, title="Not yet", status=Video.Status.PROCESSING)
    client.force_login(uploader)
    response = client.post(f"/api/v1/videos/{video.uuid}/views/")
    assert response.status_code == 409
    assert "not ready to play" in response.json()["detail"]


# ------------------------------------------------------------------------------ smaller leaks


def test_file_name_and_md5_only_for_the_owner_and_editors(api, published, viewer, uploader, make_user):
    base = f"/api/v1/videos/{published.uuid}/"
    api.force_authenticate(viewer)
    body = api.get(base).json()
    assert body["original_name"] is None
    assert body["md5"] is None
    for person in [uploader, make_user(roles.VIEWER, roles.UPLOADER, roles.EDITOR, username="eddie")]:
        api.force_authenticate(person)
        body = api.get(base).json()
        assert body["original_name"] == "clip.mp4"
        assert body["md5"] == published.md5


def test_playlist_item_count_counts_only_what_the_caller_may_see(api, published, viewer, uploader, media, make_user):
    from library import services as library_services

    api.force_authenticate(uploader)
    owner_list = PlaylistFactory(owner=uploader, title="Shared reel", is_shared=True)
    library_services.playlist_item_add(user=uploader, playlist=owner_list, video=published)
    draft = VideoFactory(
        uploader=uploader,
        title="Draft",
        status=Video.Status.PROCESSED,
    )
    PlaylistItemFactory(playlist=owner_list, video=draft, position=1)
    assert api.get(f"/api/v1/playlists/{owner_list.pk}/").json()["item_count"] == 2
    api.force_authenticate(viewer)
    assert api.get(f"/api/v1/playlists/{owner_list.pk}/").json()["item_count"] == 1
    [row] = [row for row in api.get("/api/v1/playlists/").json()["results"] if row["id"] == owner_list.pk]
    assert row["item_count"] == 1


def test_urls_minted_from_a_revoked_token_are_revoked_with_it(client, published, viewer, settings):
    """A key or sprite URL minted in the seconds before this process saw the revocation dies with its parent."""
    from videos import revocation

    urls = handed_out(client, viewer, published)
    settings.MEDIA_REVOCATION_REFRESH_SECONDS = 3600
    revocation.forget()
    assert client.get(urls["poster"]).status_code == 200  # this process's snapshot: nothing revoked
    Video.objects.filter(pk=published.pk).update(status=Video.Status.ARCHIVED, media_revoked_at=timezone.now())
    # Still unaware: the storyboard and the variant playlist mint fresh child URLs.
    vtt = client.get(urls["storyboard"])
    assert vtt.status_code == 200
    minted_sprite = vtt.content.decode().splitlines()[3].split("#")[0]
    minted_key = key_uri(client.get(urls["variant"]).content.decode())
    settings.MEDIA_REVOCATION_REFRESH_SECONDS = 0
    assert client.get(minted_sprite).status_code == 401
    assert client.get(minted_key).status_code == 401
