"""
Hostile input, part 2 — IDOR (DESIGN §8: "No user can read or change another's history,
favorites, private playlists or videos"; "No page, playlist, key, segment, thumbnail or
original is reachable without the right user").

Mallory (Viewer + Uploader) attacks Uma's objects through every URL that takes an object
id: Uma's unpublished video, her private playlist and its items, her tus upload, her history
and favourites, and the admin audit pages. Each case has a control (the owner, or a visible
object, gets through), so a 404 is never just a wrong URL.

``test_every_id_taking_url_has_an_idor_case`` walks the URL resolver: a new URL with an
object id fails it until a case here covers it (``@covers``).
"""

import base64
import re
import uuid

import pytest
from django.contrib import admin as django_admin
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from library.models import Favorite, Playlist, PlaylistItem, ViewEvent, WatchProgress
from tests.factories import PASSWORD, TOTPDeviceFactory
from tests.routes import routes
from tests.security.world import ADMIN_OBJECTS
from tests.signin import otp_client
from videos import delivery
from videos.models import Video

pytestmark = pytest.mark.django_db

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}

# ------------------------------------------------------------------------------ coverage registry

COVERED: set[str] = set()


def covers(*names):
    """Record that the decorated test attacks the URLs ``names`` (resolver names)."""
    COVERED.update(names)
    return lambda test: test


def takes_an_id(route: str) -> bool:
    return "<" in route  # path converters and regex named groups


# Patterns whose parameters are not object ids (nothing to take over).
NOT_OBJECT_IDS = {
    "admin:app_list": "an app label, not an object",
    "admin/(?P<url>.*)$": "admin's catch-all (redirects or 404s)",
}
# Generic ModelAdmin object pages: covered per registered model by
# test_admin_object_pages_refuse_roles_without_the_permission (see ADMIN_OBJECTS).
GENERIC_ADMIN = re.compile(r"^admin/[a-z_]+/[a-z_]+/<path:object_id>/")


# ------------------------------------------------------------------------------ the world (tests/security/world.py)


@pytest.fixture
def mallory(world):
    return world.client(world.attacker)


@pytest.fixture
def uma(world):
    return world.client(world.owner)


def snapshot(*objects):
    """Every column of each object, to prove a refused write changed nothing."""
    return [type(obj).objects.filter(pk=obj.pk).values().first() for obj in objects]


def library_state(world):
    return (
        sorted(WatchProgress.objects.filter(user=world.owner).values_list("video_id", "position")),
        sorted(Favorite.objects.filter(user=world.owner).values_list("video_id", flat=True)),
        sorted(PlaylistItem.objects.values_list("pk", "playlist_id", "position", "note")),
        sorted(Playlist.objects.values_list("pk", "title", "description", "is_shared")),
    )


# ------------------------------------------------------------------------------ the meta-test


def test_every_id_taking_url_has_an_idor_case():
    missing = []
    for route, name, _pattern in routes():
        if not takes_an_id(route) or route in NOT_OBJECT_IDS or name in NOT_OBJECT_IDS:
            continue
        if GENERIC_ADMIN.match(route):
            continue
        if name not in COVERED:
            missing.append(f"{name or '(unnamed)'}  {route}")
    assert not missing, "URLs taking an object id without an IDOR case:\n" + "\n".join(missing)


def test_every_admin_model_has_an_idor_object():
    registered = {f"{model._meta.app_label}.{model._meta.model_name}" for model in django_admin.site._registry}
    assert registered - set(ADMIN_OBJECTS) == set(), "add the new ModelAdmin to ADMIN_OBJECTS"


def test_the_meta_test_sees_id_routes():
    """The walker must find the id routes it claims to check (or the meta-test is vacuous)."""
    names = {name for route, name, _ in routes() if takes_an_id(route)}
    assert {"api:video", "library:playlist_item_remove", "api:upload", "admin:user_activity"} <= names


# ------------------------------------------------------------------------------ videos: pages


@covers("videos:watch")
def test_watch_page_of_anothers_unpublished_video_is_404(world, mallory, uma):
    for video in (world.hidden, world.rejected):
        url = reverse("videos:watch", args=[video.uuid])
        assert mallory.get(url).status_code == 404
        assert uma.get(url).status_code == 200
    assert mallory.get(reverse("videos:watch", args=[world.published.uuid])).status_code == 200


def test_watch_page_opened_from_anothers_private_playlist_is_404(world, mallory):
    url = reverse("videos:watch", args=[world.published.uuid])
    assert mallory.get(url, {"playlist": world.private.pk, "item": world.private_item.pk}).status_code == 404
    shared = mallory.get(url, {"playlist": world.shared.pk, "item": world.shared_item.pk})
    assert shared.status_code == 200
    assert world.hidden.title not in shared.content.decode()


@covers("videos:edit")
def test_edit_page_refuses_another_uploaders_video(world, mallory, uma):
    before = snapshot(world.hidden, world.published, world.rejected)
    for video in (world.hidden, world.rejected):
        url = reverse("videos:edit", args=[video.uuid])
        assert mallory.get(url).status_code == 404
        assert mallory.post(url, {"title": "pwned", "action": "resubmit"}).status_code == 404
    url = reverse("videos:edit", args=[world.published.uuid])
    assert mallory.get(url).status_code == 403
    assert mallory.post(url, {"title": "pwned"}).status_code == 403
    assert snapshot(world.hidden, world.published, world.rejected) == before
    assert uma.get(url).status_code == 200


@covers("videos:review_video")
def test_review_page_gives_no_existence_oracle_to_non_approvers(world, mallory):
    hidden = mallory.get(reverse("videos:review_video", args=[world.hidden.uuid]))
    missing = mallory.get(reverse("videos:review_video", args=[uuid.uuid4()]))
    assert hidden.status_code == missing.status_code == 403
    assert world.hidden.title not in hidden.content.decode()
    posted = mallory.post(reverse("videos:review_video", args=[world.hidden.uuid]), {"action": "publish"})
    assert posted.status_code == 403
    world.hidden.refresh_from_db()
    assert world.hidden.status == Video.Status.PROCESSED


def test_lists_and_search_pages_never_show_anothers_hidden_video(world, mallory):
    pages = [
        reverse("home"),
        reverse("videos:mine"),
        reverse("library:search") + "?q=Secret",
        reverse("library:search") + "?uploader=uma&status=processed",
        reverse("library:search") + "?status=rejected",
        reverse("library:history"),
        reverse("library:favorites"),
        reverse("library:playlists"),
        reverse("library:playlist_add") + f"?video={world.hidden.uuid}",
    ]
    for url in pages:
        response = mallory.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for secret in (world.hidden.title, str(world.hidden.uuid), world.rejected.title, world.private.title):
            assert secret not in html, (url, secret)


# ------------------------------------------------------------------------------ catalogue pages


@covers("library:category", "library:tag", "library:surgeon")
def test_catalogue_pages_list_only_what_the_visitor_may_see(world, mallory, uma):
    pages = [
        reverse("library:category", args=[world.category.slug]),
        reverse("library:tag", args=[world.tag.slug]),
        reverse("library:surgeon", args=[world.surgeon.pk]),
    ]
    for url in pages:
        attacker_html = mallory.get(url).content.decode()
        assert world.hidden.title not in attacker_html, url
        assert str(world.hidden.uuid) not in attacker_html, url
        assert world.hidden.title in uma.get(url).content.decode(), url  # control
    # The surgeon's linked account stays private.
    surgeon_html = mallory.get(pages[2]).content.decode()
    assert "uma@hospital.example" not in surgeon_html
    # A tag used only by a hidden video is not in the index.
    assert world.tag.name not in mallory.get(reverse("library:tags")).content.decode()
    assert world.tag.name in uma.get(reverse("library:tags")).content.decode()


# ------------------------------------------------------------------------------ history and favourites


@covers("library:history_remove")
def test_history_remove_page_cannot_touch_anothers_history(world, mallory):
    before = library_state(world)
    assert mallory.post(reverse("library:history_remove", args=[world.hidden.uuid])).status_code == 404
    assert mallory.post(reverse("library:history_remove", args=[world.published.uuid])).status_code == 302
    assert mallory.post(reverse("library:history_clear")).status_code == 302
    assert library_state(world) == before


@covers("library:favorite_toggle")
def test_favorite_toggle_page_cannot_touch_anothers_favourites(world, mallory):
    before = library_state(world)
    url = reverse("library:favorite_toggle", args=[world.hidden.uuid])
    assert mallory.post(url, {"on": "1"}).status_code == 404
    assert mallory.post(url, {"on": "0"}).status_code == 404
    assert mallory.post(reverse("library:favorite_toggle", args=[world.published.uuid]), {"on": "0"}).status_code == 302
    assert library_state(world) == before
    assert not Favorite.objects.filter(user=world.attacker).exists()


# ------------------------------------------------------------------------------ playlists: pages


@covers(
    "library:playlist",
    "library:playlist_play",
    "library:playlist_edit",
    "library:playlist_delete",
    "library:playlist_item_remove",
    "library:playlist_item_move",
)
def test_anothers_private_playlist_is_404_on_every_page_and_post(world, mallory, uma):
    before = library_state(world)
    pk, item = world.private.pk, world.private_item.pk
    # The owner's controls: the playlist, and play-all sending her to its first video.
    gets = {reverse("library:playlist", args=[pk]): 200, reverse("library:playlist_play", args=[pk]): 302}
    posts = [
        (reverse("library:playlist_edit", args=[pk]), {"title": "pwned", "is_shared": "on"}),
        (reverse("library:playlist_delete", args=[pk]), {}),
        (reverse("library:playlist_item_remove", args=[pk, item]), {}),
        (reverse("library:playlist_item_move", args=[pk, item]), {"direction": "down"}),
    ]
    for url, control in gets.items():
        assert mallory.get(url).status_code == 404, url
        assert uma.get(url).status_code == control, url
    for url, data in posts:
        assert mallory.post(url, data).status_code == 404, url
    assert library_state(world) == before


def test_anothers_shared_playlist_is_read_only_on_the_pages(world, mallory):
    before = library_state(world)
    pk, item = world.shared.pk, world.shared_item.pk
    page = mallory.get(reverse("library:playlist", args=[pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert world.hidden.title not in html and "hidden item note" not in html
    for url, data in [
        (reverse("library:playlist_edit", args=[pk]), {"title": "pwned"}),
        (reverse("library:playlist_delete", args=[pk]), {}),
        (reverse("library:playlist_item_remove", args=[pk, item]), {}),
        (reverse("library:playlist_item_move", args=[pk, item]), {"direction": "down"}),
    ]:
        assert mallory.post(url, data).status_code == 403, url
    assert library_state(world) == before


def test_anothers_playlist_item_through_ones_own_playlist_is_404(world, mallory):
    before = library_state(world)
    own, theirs = world.own.pk, world.private_item.pk
    assert mallory.post(reverse("library:playlist_item_remove", args=[own, theirs])).status_code == 404
    assert (
        mallory.post(reverse("library:playlist_item_move", args=[own, theirs]), {"direction": "up"}).status_code == 404
    )
    assert library_state(world) == before


def test_playlist_add_cannot_target_anothers_playlist_or_hidden_video(world, mallory):
    before = library_state(world)
    url = reverse("library:playlist_add")
    for target in (world.private.pk, world.shared.pk):
        response = mallory.post(url, {"playlist": str(target), "video": str(world.published.uuid)})
        assert response.status_code == 400
        assert "Choose one of your own playlists." in response.content.decode()
    response = mallory.post(url, {"playlist": str(world.own.pk), "video": str(world.hidden.uuid)})
    assert response.status_code == 400
    assert library_state(world) == before


# ------------------------------------------------------------------------------ videos: API


def api_paths(video):
    return {
        "detail": reverse("api:video", args=[video.uuid]),
        "related": reverse("api:video_related", args=[video.uuid]),
        "publish": reverse("api:video_publish", args=[video.uuid]),
        "reject": reverse("api:video_reject", args=[video.uuid]),
        "archive": reverse("api:video_archive", args=[video.uuid]),
        "resubmit": reverse("api:video_resubmit", args=[video.uuid]),
        "reprocess": reverse("api:video_reprocess", args=[video.uuid]),
        "poster": reverse("api:video_poster", args=[video.uuid]),
        "replacement": reverse("api:video_replacement", args=[video.uuid]),
        "progress": reverse("api:video_progress", args=[video.uuid]),
        "favorite": reverse("api:video_favorite", args=[video.uuid]),
        "views": reverse("api:video_views", args=[video.uuid]),
        "history": reverse("api:history_entry", args=[video.uuid]),
        "master": reverse("api:hls_master", args=[video.uuid]),
    }


@covers(
    "api:video",
    "api:video_related",
    "api:video_publish",
    "api:video_reject",
    "api:video_archive",
    "api:video_resubmit",
    "api:video_reprocess",
    "api:video_poster",
    "api:video_replacement",
    "api:video_progress",
    "api:video_favorite",
    "api:video_views",
    "api:history_entry",
)
@pytest.mark.parametrize("which", ["hidden", "rejected"])
def test_every_video_api_endpoint_is_404_for_anothers_unpublished_video(world, mallory, uma, which):
    video = getattr(world, which)
    paths = api_paths(video)
    before = (snapshot(video), library_state(world))
    calls = [
        ("get", paths["detail"], None),
        ("patch", paths["detail"], {"title": "pwned"}),
        ("delete", paths["detail"], None),
        ("get", paths["related"], None),
        ("post", paths["publish"], None),
        ("post", paths["reject"], {"reason": "x"}),
        ("post", paths["archive"], None),
        ("post", paths["resubmit"], None),
        ("post", paths["reprocess"], None),
        ("post", paths["poster"], {"at": 1}),
        ("post", paths["replacement"], None),
        ("get", paths["progress"], None),
        ("put", paths["progress"], {"position": 3}),
        ("post", paths["progress"], {"position": 3}),
        ("put", paths["favorite"], None),
        ("delete", paths["favorite"], None),
        ("post", paths["views"], None),
        ("delete", paths["history"], None),
        ("get", paths["master"], None),
    ]
    for method, path, body in calls:
        response = getattr(mallory, method)(path, body, content_type="application/json")
        assert response.status_code == 404, (method, path, response.status_code)
        assert video.title not in response.content.decode()
    assert (snapshot(video), library_state(world)) == before
    assert not WatchProgress.objects.filter(user=world.attacker).exists()
    assert uma.get(paths["detail"]).status_code == 200  # control


def test_video_api_writes_on_a_visible_video_of_another_uploader_are_refused(world, mallory):
    paths = api_paths(world.published)
    before = snapshot(world.published)
    for method, path, body in [
        ("patch", paths["detail"], {"title": "pwned", "description": "x"}),
        ("delete", paths["detail"], None),
        ("post", paths["publish"], None),
        ("post", paths["reject"], {"reason": "x"}),
        ("post", paths["archive"], None),
        ("post", paths["resubmit"], None),
        ("post", paths["reprocess"], None),
        ("post", paths["poster"], {"at": 1}),
        ("post", paths["replacement"], None),
    ]:
        response = getattr(mallory, method)(path, body, content_type="application/json")
        assert response.status_code == 403, (method, path, response.status_code)
    assert snapshot(world.published) == before
    assert Video.objects.filter(pk=world.published.pk).exists()


def test_anothers_progress_favourite_and_history_are_never_read_or_changed(world, mallory):
    before = library_state(world)
    paths = api_paths(world.published)
    progress = mallory.get(paths["progress"]).json()
    assert progress["position"] == 0  # Uma is at 42 s
    assert mallory.delete(paths["favorite"]).status_code == 200
    assert mallory.delete(paths["history"]).status_code == 404
    assert mallory.delete(reverse("api:history")).status_code == 204
    assert library_state(world) == before
    assert mallory.get(reverse("api:history")).json()["results"] == []
    assert mallory.get(reverse("api:favorites")).json()["results"] == []
    detail = mallory.get(paths["detail"]).json()
    assert not detail.get("is_favorite")


def test_video_list_api_never_returns_anothers_hidden_video(world, mallory):
    for query in ["", "?q=Secret", "?mine=1", "?status=processed", "?uploader=uma", "?status=rejected"]:
        response = mallory.get(reverse("api:videos") + query)
        assert response.status_code == 200, query
        body = response.content.decode()
        assert str(world.hidden.uuid) not in body and str(world.rejected.uuid) not in body, query
    related = mallory.get(api_paths(world.published)["related"]).content.decode()
    assert str(world.hidden.uuid) not in related


# ------------------------------------------------------------------------------ HLS and images


def _token(scope, video, user, ttl=600):
    tag = delivery.stamp_tag(user) if scope in ("master", "key", "media") else ""
    return delivery.sign(scope=scope, video_uuid=video.uuid, user_id=user.pk, ttl=ttl, tag=tag)


def hls_urls(video, token):
    q = f"?token={token}"
    return {
        "master": reverse("api:hls_master", args=[video.uuid]) + q,
        "key": reverse("api:hls_key", args=[video.uuid]) + q,
        "variant": reverse("api:hls_variant", args=[video.uuid, "360p"]) + q,
        "segment": reverse("api:hls_segment", args=[video.uuid, "360p", "seg_00000.ts"]) + q,
        "poster": reverse("api:video_image", args=[video.uuid, "poster.jpg"]) + q,
        "sprite": reverse("api:video_image", args=[video.uuid, "storyboard.jpg"]) + q,
        "vtt": reverse("api:video_image", args=[video.uuid, "storyboard.vtt"]) + q,
    }


SCOPE_OF = {
    "master": "master",
    "key": "key",
    "variant": "media",
    "segment": "media",
    "poster": "image",
    "sprite": "image",
    "vtt": "image",
}


def _leaks(response, video) -> bool:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return video.uuid.bytes in body or bytes(video.hls_key) in body


@covers("api:hls_master", "api:hls_key", "api:hls_variant", "api:hls_segment", "api:video_image")
def test_media_tokens_minted_for_another_video_open_nothing(world):
    """Mallory's genuine tokens for the published video, replayed against the hidden one."""
    anonymous = Client()
    for kind, scope in SCOPE_OF.items():
        good = hls_urls(world.published, _token(scope, world.published, world.attacker))[kind]
        assert anonymous.get(good).status_code == 200, kind  # control: the token works where it belongs
        replayed = hls_urls(world.hidden, _token(scope, world.published, world.attacker))[kind]
        response = anonymous.get(replayed)
        assert response.status_code == 401, (kind, response.status_code)
        assert not _leaks(response, world.hidden), kind


def test_media_tokens_of_another_scope_open_nothing(world):
    anonymous = Client()
    for kind, scope in SCOPE_OF.items():
        for other in {"master", "key", "media", "image"} - {scope}:
            url = hls_urls(world.published, _token(other, world.published, world.owner))[kind]
            response = anonymous.get(url)
            assert response.status_code == 401, (kind, other, response.status_code)
            assert not _leaks(response, world.published)


def test_media_tokens_with_another_users_id_spliced_in_open_nothing(world):
    anonymous = Client()
    for kind, scope in SCOPE_OF.items():
        owners = _token(scope, world.hidden, world.owner)
        _, issued, expires, tag, signature = owners.split(".")
        forged = f"{world.attacker.pk}.{issued}.{expires}.{tag}.{signature}"
        response = anonymous.get(hls_urls(world.hidden, forged)[kind])
        assert response.status_code == 401, kind
        longer = f"{world.owner.pk}.{issued}.{int(expires) + 86400}.{tag}.{signature}"
        assert anonymous.get(hls_urls(world.hidden, longer)[kind]).status_code == 401, kind
        later = f"{world.owner.pk}.{int(issued) + 60_000}.{expires}.{tag}.{signature}"  # issued after a revocation
        assert anonymous.get(hls_urls(world.hidden, later)[kind]).status_code == 401, kind
        attackers_tag = delivery.stamp_tag(world.attacker)
        retagged = f"{world.owner.pk}.{issued}.{expires}.{attackers_tag}.{signature}"
        assert anonymous.get(hls_urls(world.hidden, retagged)[kind]).status_code == 401, kind


def test_key_and_master_recheck_the_user_even_with_a_valid_token(world):
    """A token signed for Mallory on a video she may not see (e.g. minted before it was unpublished)."""
    anonymous = Client()
    urls = hls_urls(world.hidden, _token("key", world.hidden, world.attacker))
    response = anonymous.get(urls["key"])
    assert response.status_code == 404
    assert bytes(world.hidden.hls_key) not in response.content
    master = anonymous.get(hls_urls(world.hidden, _token("master", world.hidden, world.attacker))["master"])
    assert master.status_code == 404
    assert "360p" not in master.content.decode()
    # Control: the owner's key token opens the key.
    owner_key = anonymous.get(hls_urls(world.hidden, _token("key", world.hidden, world.owner))["key"])
    assert owner_key.status_code == 200 and owner_key.content == bytes(world.hidden.hls_key)


def test_master_playlist_with_a_session_is_404_for_anothers_hidden_video(world, mallory, uma):
    url = reverse("api:hls_master", args=[world.hidden.uuid])
    assert mallory.get(url).status_code == 404
    assert uma.get(url).status_code == 200
    assert not ViewEvent.objects.filter(user=world.attacker).exists()


def test_signed_urls_in_a_playlist_are_bound_to_the_viewer(world, mallory, uma):
    """The master Uma receives carries Uma's id: Mallory's session does not change that."""
    text = uma.get(reverse("api:hls_master", args=[world.hidden.uuid])).content.decode()
    variant = next(line for line in text.splitlines() if line and not line.startswith("#"))
    token = re.search(r"token=([^&]+)", variant).group(1)
    assert token.split(".")[0] == str(world.owner.pk)
    # Mallory's own master of the published video is signed for her, not Uma.
    text = mallory.get(reverse("api:hls_master", args=[world.published.uuid])).content.decode()
    assert re.search(r"token=(\d+)\.", text).group(1) == str(world.attacker.pk)


# ------------------------------------------------------------------------------ tus uploads


@covers("api:upload")
def test_anothers_tus_upload_is_404_on_every_method(world, mallory, uma):
    url = reverse("api:upload", args=[world.upload.pk])
    before = snapshot(world.upload)
    data = world.upload.path.read_bytes()
    for method in ("head", "get", "delete"):
        response = getattr(mallory, method)(url, **TUS)
        assert response.status_code == 404, method
    patch = mallory.patch(
        url, b"EVIL" * 4, content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="10", **TUS
    )
    assert patch.status_code == 404
    assert snapshot(world.upload) == before
    assert world.upload.path.read_bytes() == data
    head = uma.head(url, **TUS)  # control
    assert head.status_code == 200 and head["Upload-Offset"] == "10"
    assert "uma's upload" not in mallory.get(url, **TUS).content.decode()


def test_the_upload_collection_never_lists_anothers_upload(world, mallory):
    for method, status in (("get", 405), ("options", 204)):  # tus has no listing; OPTIONS describes the server
        response = getattr(mallory, method)(reverse("api:uploads"), **TUS)
        assert response.status_code == status, method
        assert str(world.upload.pk) not in response.content.decode(), method


# ------------------------------------------------------------------------------ playlists: API


@covers("api:playlist", "api:playlist_items", "api:playlist_reorder", "api:playlist_item")
def test_anothers_private_playlist_is_404_on_every_api_call(world, mallory, uma):
    before = library_state(world)
    pk, item = world.private.pk, world.private_item.pk
    calls = [
        ("get", reverse("api:playlist", args=[pk]), None),
        ("patch", reverse("api:playlist", args=[pk]), {"title": "pwned", "is_shared": True}),
        ("delete", reverse("api:playlist", args=[pk]), None),
        ("get", reverse("api:playlist_items", args=[pk]), None),
        ("post", reverse("api:playlist_items", args=[pk]), {"video": str(world.published.uuid)}),
        ("post", reverse("api:playlist_reorder", args=[pk]), {"order": [item]}),
        ("delete", reverse("api:playlist_item", args=[pk, item]), None),
    ]
    for method, path, body in calls:
        response = getattr(mallory, method)(path, body, content_type="application/json")
        assert response.status_code == 404, (method, path, response.status_code)
        assert "private note" not in response.content.decode()
    assert library_state(world) == before
    assert uma.get(reverse("api:playlist", args=[pk])).status_code == 200  # control
    listed = mallory.get(reverse("api:playlists")).content.decode()
    assert world.private.title not in listed and world.shared.title in listed


def test_anothers_shared_playlist_is_read_only_on_the_api(world, mallory):
    before = library_state(world)
    pk, item = world.shared.pk, world.shared_item.pk
    items = mallory.get(reverse("api:playlist_items", args=[pk]))
    assert items.status_code == 200
    assert str(world.hidden.uuid) not in items.content.decode()
    assert "hidden item note" not in items.content.decode()
    for method, path, body in [
        ("patch", reverse("api:playlist", args=[pk]), {"title": "pwned"}),
        ("delete", reverse("api:playlist", args=[pk]), None),
        ("post", reverse("api:playlist_items", args=[pk]), {"video": str(world.published.uuid)}),
        ("post", reverse("api:playlist_reorder", args=[pk]), {"order": [item]}),
        ("delete", reverse("api:playlist_item", args=[pk, item]), None),
    ]:
        response = getattr(mallory, method)(path, body, content_type="application/json")
        assert response.status_code == 403, (method, path, response.status_code)
    assert library_state(world) == before


def test_api_cannot_reach_anothers_item_or_hidden_video_through_ones_own_playlist(world, mallory):
    before = library_state(world)
    own = world.own.pk
    assert mallory.delete(reverse("api:playlist_item", args=[own, world.private_item.pk])).status_code == 404
    added = mallory.post(
        reverse("api:playlist_items", args=[own]), {"video": str(world.hidden.uuid)}, content_type="application/json"
    )
    assert added.status_code == 400
    reorder = mallory.post(
        reverse("api:playlist_reorder", args=[own]),
        {"order": [world.private_item.pk, *world.own.items.values_list("pk", flat=True)]},
        content_type="application/json",
    )
    assert reorder.status_code == 400
    assert library_state(world) == before


# ------------------------------------------------------------------------------ accounts


@covers("accounts:password_reset_confirm")
def test_reset_token_of_one_account_does_not_open_another(world, mailoutbox):
    browser = Client()
    browser.post(reverse("accounts:password_reset"), {"email": "mallory@hospital.example"})
    uid, token = re.search(r"/accounts/password/reset/([^/\s]+)/([^/\s]+)/", mailoutbox[-1].body).groups()
    owner_uid = urlsafe_base64_encode(force_bytes(world.owner.pk))
    assert owner_uid != uid
    url = reverse("accounts:password_reset_confirm", args=[owner_uid, token])
    body = {"new_password1": "Hijacked-Pass-77?", "new_password2": "Hijacked-Pass-77?"}
    response = browser.post(url, body)
    assert response.status_code == 200
    assert "This password reset link is invalid" in response.content.decode()
    world.owner.refresh_from_db()
    assert world.owner.check_password(PASSWORD)
    # Control: the token does work for its own account.
    assert browser.post(reverse("accounts:password_reset_confirm", args=[uid, token]), body).status_code == 302


# ------------------------------------------------------------------------------ admin: custom pages


@covers("admin:user_activity", "admin:video_viewers")
def test_audit_pages_refuse_everyone_without_the_audit_permission(world, mallory, editor, approver, admin_user):
    urls = [
        reverse("admin:user_activity", args=[world.owner.pk]),
        reverse("admin:video_viewers", args=[world.hidden.uuid]),
        reverse("admin:video_viewers", args=[world.hidden.uuid]) + "?export=csv",
    ]
    for url in urls:
        response = mallory.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
        for staff in (editor, approver):
            refused = otp_client(staff).get(url)
            assert refused.status_code == 403, url
            assert world.owner.full_name not in refused.content.decode(), url
        assert otp_client(admin_user).get(url).status_code == 200, url  # control


@covers("admin:accounts_user_id_document", "admin:auth_user_password_change")
def test_admin_user_subpages_refuse_roles_without_the_permission(world, mallory, editor, approver):
    urls = [
        reverse("admin:accounts_user_id_document", args=[world.owner.pk]),
        reverse("admin:auth_user_password_change", args=[world.owner.pk]),
    ]
    for url in urls:
        response = mallory.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
        for staff in (editor, approver):
            browser = otp_client(staff)
            assert browser.get(url, follow=True).status_code == 403, url
            browser.post(url, {"password1": "Hijacked-Pass-77?", "password2": "Hijacked-Pass-77?"})
    world.owner.refresh_from_db()
    assert world.owner.check_password(PASSWORD)


@covers("admin:otp_totp_totpdevice_config", "admin:otp_totp_totpdevice_qrcode")
def test_anothers_authenticator_secret_is_not_shown_in_admin(world, mallory, admin_user, editor):
    device = TOTPDeviceFactory(user=world.owner, name="uma phone")
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    for name in ("admin:otp_totp_totpdevice_config", "admin:otp_totp_totpdevice_qrcode"):
        url = reverse(name, args=[device.pk])
        assert mallory.get(url).status_code == 302, name
        for staff in (editor, admin_user):  # not superusers: may not read other people's TOTP secrets
            response = otp_client(staff).get(url)
            assert response.status_code == 403, (name, staff.username, response.status_code)
            assert secret not in response.content.decode(errors="replace")


@covers("admin:view_on_site")
def test_view_on_site_redirect_reveals_nothing_to_non_staff(world, mallory, editor):
    from django.contrib.contenttypes.models import ContentType

    for model, pk in [(Video, world.hidden.pk), (Playlist, world.private.pk), (type(world.owner), world.owner.pk)]:
        ct = ContentType.objects.get_for_model(model)
        url = reverse("admin:view_on_site", args=[ct.pk, pk])
        response = mallory.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
        assert otp_client(editor).get(url).status_code == 404  # none of them has a page on the site


# ------------------------------------------------------------------------------ admin: generic object pages

# ADMIN_OBJECTS (tests/security/world.py): a real object of each registered model, and the admin-site
# roles that may NOT read it.


@pytest.mark.parametrize("model", sorted(ADMIN_OBJECTS))
def test_admin_object_pages_refuse_roles_without_the_permission(world, mallory, editor, approver, admin_user, model):
    """Every ModelAdmin object page (change, history, delete, bare id) for a real object."""
    get_pk, refused_roles = ADMIN_OBJECTS[model]
    pk = get_pk(world)
    app_label, model_name = model.split(".")
    urls = [
        reverse(f"admin:{app_label}_{model_name}_change", args=[pk]),
        reverse(f"admin:{app_label}_{model_name}_history", args=[pk]),
        reverse(f"admin:{app_label}_{model_name}_delete", args=[pk]),
    ]
    for url in urls:
        response = mallory.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
        deleted = mallory.post(url, {"post": "yes"})
        assert deleted.status_code == 302 and deleted["Location"].startswith("/admin/login/"), url
    staff = {"editor": editor, "approver": approver, "admin": admin_user}
    for role in refused_roles:
        browser = otp_client(staff[role])
        for url in urls:
            response = browser.get(url, follow=True)
            assert response.status_code == 403, (model, role, url, response.status_code)
        browser.post(urls[2], {"post": "yes"})
    from django.apps import apps

    assert apps.get_model(app_label, model_name)._default_manager.filter(pk=pk).exists()


# ------------------------------------------------------------------------------ governance (issue #17)


def governance_state(world):
    from governance.models import Consent, LegalHold

    return (
        sorted(Consent.objects.values_list("video_id", "status", "purpose", "set_by_id")),
        sorted(LegalHold.objects.values_list("video_id", "reason")),
        snapshot(world.hidden, world.published, world.rejected),
    )


@covers("api:video_consent", "api:video_legal_hold", "api:video_original")
def test_governance_api_refuses_another_uploaders_video(world, mallory, uma, approver):
    """Hidden: 404 on every call; published (she may watch it): 403. Nothing recorded, nothing streamed."""
    before = governance_state(world)
    for video, status in ((world.hidden, 404), (world.rejected, 404), (world.published, 403)):
        consent = reverse("api:video_consent", args=[video.uuid])
        hold = reverse("api:video_legal_hold", args=[video.uuid])
        original = reverse("api:video_original", args=[video.uuid])
        for method, path, body in [
            ("get", consent, None),
            ("put", consent, {"status": "withdrawn", "purpose": ""}),
            ("get", hold, None),
            ("put", hold, {"reason": "pwned"}),
            ("delete", hold, {"reason": "pwned"}),
        ]:
            response = getattr(mallory, method)(path, body, content_type="application/json")
            assert response.status_code == status, (method, path, response.status_code)
            assert video.title not in response.content.decode()
        response = mallory.get(original, {"reason": "curious"})
        assert response.status_code == status, (original, response.status_code)
        assert not getattr(response, "streaming", False)
    assert governance_state(world) == before
    # Controls: the owner reads her consent; an approver reads the hold.
    assert uma.get(reverse("api:video_consent", args=[world.hidden.uuid])).json()["status"] == "obtained"
    assert otp_client(approver).get(reverse("api:video_legal_hold", args=[world.hidden.uuid])).status_code == 200


@covers("governance:consent", "governance:legal_hold")
def test_governance_forms_refuse_another_uploaders_video(world, mallory, uma):
    before = governance_state(world)
    for video, status in ((world.hidden, 404), (world.rejected, 404), (world.published, 403)):
        for name, body in (
            ("governance:consent", {"status": "withdrawn"}),
            ("governance:legal_hold", {"reason": "pwned", "action": "set"}),
            ("governance:legal_hold", {"reason": "pwned", "action": "release"}),
        ):
            response = mallory.post(reverse(name, args=[video.uuid]), body)
            assert response.status_code == status, (name, video.title, response.status_code)
    assert governance_state(world) == before
    # Control: the owner records consent through the same form.
    response = uma.post(reverse("governance:consent", args=[world.hidden.uuid]), {"status": "not_required"})
    assert response.status_code == 302
    world.consent.refresh_from_db()
    assert world.consent.status == "not_required"


# ------------------------------------------------------------------------------ privacy (issue #17)


def privacy_state():
    from privacy.models import PrivacyRange, PrivacyScan

    return (
        sorted(PrivacyScan.objects.values_list("pk", "video_id", "status", "applying_token")),
        sorted(PrivacyRange.objects.values_list("pk", "scan_id", "start", "end", "decision", "reason")),
    )


def _mallorys_video(world):
    from tests.factories import VideoFactory

    return VideoFactory(uploader=world.attacker, title="Mallory's case", status=Video.Status.PROCESSED)


@covers("api:video_privacy", "api:video_privacy_ranges", "api:video_privacy_range", "api:video_privacy_apply")
def test_privacy_api_refuses_another_uploaders_video_and_ranges(world, mallory, uma):
    before = privacy_state()
    rng = world.hidden_range.pk
    for video, status in ((world.hidden, 404), (world.rejected, 404), (world.published, 403)):
        for method, path, body in [
            ("get", reverse("api:video_privacy", args=[video.uuid]), None),
            ("post", reverse("api:video_privacy_ranges", args=[video.uuid]), {"start": 0, "end": 2}),
            ("patch", reverse("api:video_privacy_range", args=[video.uuid, rng]), {"decision": "keep", "reason": "x"}),
            ("post", reverse("api:video_privacy_apply", args=[video.uuid]), None),
        ]:
            response = getattr(mallory, method)(path, body, content_type="application/json")
            assert response.status_code == status, (method, path, response.status_code)
            assert "0:00:01" not in response.content.decode()
    # Uma's range through Mallory's own video (which she may decide on): no such range there.
    own = _mallorys_video(world)
    path = reverse("api:video_privacy_range", args=[own.uuid, rng])
    response = mallory.patch(path, {"decision": "keep", "reason": "x"}, content_type="application/json")
    assert response.status_code == 404
    assert privacy_state() == before
    assert uma.get(reverse("api:video_privacy", args=[world.hidden.uuid])).json()["ranges"][0]["id"] == rng  # control


@covers("privacy:add", "privacy:decide", "privacy:apply")
def test_privacy_forms_refuse_another_uploaders_video_and_ranges(world, mallory, uma):
    before = privacy_state()
    rng = world.hidden_range.pk
    for video, status in ((world.hidden, 404), (world.rejected, 404), (world.published, 403)):
        for path, body in [
            (reverse("privacy:add", args=[video.uuid]), {"start": "0:00", "end": "0:02"}),
            (reverse("privacy:decide", args=[video.uuid, rng]), {"decision": "keep", "reason": "x"}),
            (reverse("privacy:apply", args=[video.uuid]), {}),
        ]:
            response = mallory.post(path, body)
            assert response.status_code == status, (path, response.status_code)
    own = _mallorys_video(world)
    response = mallory.post(reverse("privacy:decide", args=[own.uuid, rng]), {"decision": "keep", "reason": "x"})
    assert response.status_code == 404
    assert privacy_state() == before
    # Control: the owner decides her range through the same form.
    response = uma.post(reverse("privacy:decide", args=[world.hidden.uuid, rng]), {"decision": "blur"})
    assert response.status_code == 302
    world.hidden_range.refresh_from_db()
    assert world.hidden_range.decision == "blur"


# ------------------------------------------------------------------------------ teaching (issue #16)


def teaching_state():
    from teaching.models import Caption, Chapter, Comment, Notification

    return (
        sorted(Chapter.objects.values_list("pk", "video_id", "start", "title")),
        sorted(Comment.objects.values_list("pk", "video_id", "author_id", "body", "private", "edited_at")),
        sorted(Caption.objects.values_list("pk", "video_id", "language", "label")),
        sorted(Notification.objects.values_list("pk", "user_id", "read_at")),
    )


SECRETS = ("hidden case comment", "uma's private note", "uma's secret caption cue")


@covers("api:video_chapters", "api:video_comments", "api:video_comment", "api:video_captions", "api:video_caption")
@pytest.mark.parametrize("which", ["hidden", "rejected"])
def test_every_teaching_api_call_is_404_for_anothers_unpublished_video(world, mallory, uma, which):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.security.world import VTT

    video = getattr(world, which)
    before = teaching_state()
    comment, caption = world.hidden_comment.pk, world.hidden_caption.pk
    calls = [
        ("get", reverse("api:video_chapters", args=[video.uuid]), None),
        ("put", reverse("api:video_chapters", args=[video.uuid]), [{"start": 0, "title": "pwned"}]),
        ("get", reverse("api:video_comments", args=[video.uuid]), None),
        ("post", reverse("api:video_comments", args=[video.uuid]), {"body": "@uma pwned"}),
        ("patch", reverse("api:video_comment", args=[video.uuid, comment]), {"body": "pwned"}),
        ("delete", reverse("api:video_comment", args=[video.uuid, comment]), None),
        ("get", reverse("api:video_captions", args=[video.uuid]), None),
        ("delete", reverse("api:video_caption", args=[video.uuid, caption]), None),
    ]
    for method, path, body in calls:
        response = getattr(mallory, method)(path, body, content_type="application/json")
        assert response.status_code == 404, (method, path, response.status_code)
        assert not any(secret in response.content.decode() for secret in SECRETS), (method, path)
    upload = {"file": SimpleUploadedFile("x.vtt", VTT), "language": "en"}
    assert mallory.post(reverse("api:video_captions", args=[video.uuid]), upload).status_code == 404
    assert teaching_state() == before
    assert uma.get(reverse("api:video_comments", args=[world.hidden.uuid])).status_code == 200  # control


def test_teaching_api_on_a_visible_video_reads_but_never_writes_anothers(world, mallory, uma):
    """Mallory may watch the published video: she reads its discussion, never Uma's private note,
    and cannot change its chapters, captions or Uma's comments; Uma's hidden comment and caption
    cannot be reached through the published video's URLs either."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.security.world import VTT

    video = world.published
    before = teaching_state()
    listed = mallory.get(reverse("api:video_comments", args=[video.uuid]))
    assert listed.status_code == 200
    assert "uma's public comment" in listed.content.decode()
    assert "uma's private note" not in listed.content.decode()
    assert "uma's private note" in uma.get(reverse("api:video_comments", args=[video.uuid])).content.decode()
    calls = [
        ("put", reverse("api:video_chapters", args=[video.uuid]), [{"start": 0, "title": "pwned"}], 403),
        ("patch", reverse("api:video_comment", args=[video.uuid, world.published_comment.pk]), {"body": "x"}, 403),
        ("delete", reverse("api:video_comment", args=[video.uuid, world.published_comment.pk]), None, 403),
        ("patch", reverse("api:video_comment", args=[video.uuid, world.private_note.pk]), {"body": "x"}, 404),
        ("delete", reverse("api:video_comment", args=[video.uuid, world.private_note.pk]), None, 404),
        ("patch", reverse("api:video_comment", args=[video.uuid, world.hidden_comment.pk]), {"body": "x"}, 404),
        ("delete", reverse("api:video_comment", args=[video.uuid, world.hidden_comment.pk]), None, 404),
        ("delete", reverse("api:video_caption", args=[video.uuid, world.published_caption.pk]), None, 403),
        ("delete", reverse("api:video_caption", args=[video.uuid, world.hidden_caption.pk]), None, 404),
    ]
    for method, path, body, status in calls:
        response = getattr(mallory, method)(path, body, content_type="application/json")
        assert response.status_code == status, (method, path, response.status_code)
        assert not any(secret in response.content.decode() for secret in SECRETS), (method, path)
    upload = {"file": SimpleUploadedFile("x.vtt", VTT), "language": "en"}
    assert mallory.post(reverse("api:video_captions", args=[video.uuid]), upload).status_code == 403
    assert teaching_state() == before


@covers("api:caption_file")
def test_caption_tokens_open_only_their_own_video(world, mallory, uma):
    """Mallory's genuine caption URL for the published video, pointed at the hidden video's caption."""
    anonymous = Client()
    [track] = mallory.get(reverse("api:video_captions", args=[world.published.uuid])).json()
    good = anonymous.get(track["url"])
    assert good.status_code == 200  # control: her token opens the track it was given for
    token = track["url"].split("token=", 1)[1]
    replayed = reverse("api:caption_file", args=[world.hidden.uuid, world.hidden_caption.pk]) + f"?token={token}"
    response = anonymous.get(replayed)
    assert response.status_code == 401
    assert b"secret caption" not in response.content
    assert anonymous.get(replayed.split("?")[0]).status_code == 401
    # Uma's own token opens it (control).
    [own] = uma.get(reverse("api:video_captions", args=[world.hidden.uuid])).json()
    opened = anonymous.get(own["url"])
    assert opened.status_code == 200
    assert b"secret caption" in b"".join(opened.streaming_content)


def test_notifications_are_never_anothers(world, mallory, uma):
    before = teaching_state()
    listed = mallory.get(reverse("api:notifications")).json()
    assert listed == {"unread": 0, "results": []}
    response = mallory.post(
        reverse("api:notifications_read"), {"ids": [world.notification.pk]}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["read"] == 0
    assert mallory.post(reverse("teaching:notifications_read")).status_code == 302
    page = mallory.get(reverse("teaching:notifications")).content.decode()
    assert "hidden case comment" not in page and world.hidden.title not in page
    assert teaching_state() == before
    assert uma.get(reverse("api:notifications")).json()["unread"] == 1  # control
