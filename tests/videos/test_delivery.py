"""Protected HLS delivery: who gets playlists, keys, segments and images, and at what cost."""

import subprocess
from urllib.parse import parse_qs, urlparse

import pytest

from accounts import roles
from accounts import services as account_services
from tests.videos_helpers import decrypt, iv_of, key_uri, ready_video, uris
from videos import delivery, services
from videos.models import Video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def master_path(video):
    return f"/api/v1/videos/{video.uuid}/hls/master.m3u8"


def test_master_needs_a_signed_in_user(client, api, published):
    assert api.get(master_path(published)).status_code == 401
    assert client.get(master_path(published)).status_code == 401


def test_whole_chain_plays_for_a_viewer(client, viewer, published):
    client.force_login(viewer)
    master = client.get(master_path(published))
    assert master.status_code == 200
    assert master["Content-Type"] == "application/vnd.apple.mpegurl"
    assert master["Cache-Control"] == "private, no-cache"
    [variant_url] = uris(master.content.decode())
    assert "token=" in variant_url
    variant = client.get(variant_url)
    assert variant.status_code == 200
    text = variant.content.decode()
    segments = uris(text)
    assert segments and all("token=" in url for url in segments)
    assert iv_of(text) == published.hls_iv
    key = client.get(key_uri(text))
    assert key.status_code == 200
    assert key["Cache-Control"] == "no-store"
    assert key.content == bytes(published.hls_key)
    segment = client.get(segments[0])
    assert segment.status_code == 200
    assert segment["Content-Type"] == "video/mp2t"
    assert segment["Cache-Control"].startswith("private")
    data = b"".join(segment.streaming_content)
    assert data[0] != 0x47
    assert decrypt(data, key.content, iv_of(text))[0] == 0x47


def test_jwt_works_for_the_master(api, viewer, password, published):
    tokens = api.post("/api/v1/auth/token/", {"username": "vera", "password": password}, format="json").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get(master_path(published)).status_code == 200


def test_segments_and_variants_cost_no_database_query(client, viewer, published, django_assert_num_queries):
    client.force_login(viewer)  # a session cookie is present, and must not be looked up
    variant_url = uris(client.get(master_path(published)).content.decode())[0]
    # The first media request of a period loads the process's revocation snapshot (two small
    # queries, at most once per MEDIA_REVOCATION_REFRESH_SECONDS; test_access_revocation.py proves it).
    client.get(variant_url)
    with django_assert_num_queries(0):
        variant = client.get(variant_url)
    segment_url = uris(variant.content.decode())[0]
    with django_assert_num_queries(0):
        response = client.get(segment_url)
        b"".join(response.streaming_content)
    assert response.status_code == 200
    # Answered by the fast path, before sessions, CSRF, CSP and the rest of the stack.
    assert "Content-Security-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"


def test_unpublished_video_is_404_for_viewers_and_409_for_its_uploader(
    client, api, viewer, uploader, media, django_capture_on_commit_callbacks
):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)  # processed, not published
    client.force_login(viewer)
    assert client.get(master_path(video)).status_code == 404
    assert client.get(f"/api/v1/videos/{video.uuid}/").status_code == 404
    client.force_login(uploader)
    assert client.get(master_path(video)).status_code == 200  # the uploader reviews their own
    Video.objects.filter(pk=video.pk).update(status="failed")
    response = client.get(master_path(video))
    assert response.status_code == 409
    assert "not ready" in response.json()["detail"]


def _token(url):
    return parse_qs(urlparse(url).query)["token"][0]


def _swap_token(url, token):
    return url.split("?")[0] + "?token=" + token


def test_forged_foreign_and_expired_tokens_are_refused(
    client, viewer, published, make_user, api, uploader, media, django_capture_on_commit_callbacks
):
    client.force_login(viewer)
    variant_url = uris(client.get(master_path(published)).content.decode())[0]
    segment_url = uris(client.get(variant_url).content.decode())[0]
    client.logout()
    # No token at all.
    assert client.get(segment_url.split("?")[0]).status_code == 401
    # Tampered signature.
    assert client.get(segment_url[:-2] + "xx").status_code == 401
    # Expired.
    expired = delivery.sign(scope="media", video_uuid=published.uuid, user_id=viewer.pk, ttl=-5)
    assert client.get(_swap_token(segment_url, expired)).status_code == 401
    # Token of another video opens nothing here.
    other = ready_video(api, uploader, media.other_mp4(), django_capture_on_commit_callbacks)
    foreign = delivery.sign(scope="media", video_uuid=other.uuid, user_id=viewer.pk, ttl=3600)
    assert client.get(_swap_token(segment_url, foreign)).status_code == 401
    assert client.get(_swap_token(variant_url, foreign)).status_code == 401
    # Another user's id with this signature.
    user_id, issued, expires, tag, signature = _token(segment_url).split(".")
    spliced = f"{int(user_id) + 1}.{issued}.{expires}.{tag}.{signature}"
    assert client.get(_swap_token(segment_url, spliced)).status_code == 401


def test_a_segment_token_does_not_open_the_key(client, viewer, published):
    client.force_login(viewer)
    variant_url = uris(client.get(master_path(published)).content.decode())[0]
    text = client.get(variant_url).content.decode()
    media_token = _token(uris(text)[0])
    client.logout()
    assert client.get(_swap_token(key_uri(text), media_token)).status_code == 401
    assert client.get(key_uri(text)).status_code == 200


def test_key_rechecks_the_user(client, viewer, published):
    client.force_login(viewer)
    text = client.get(uris(client.get(master_path(published)).content.decode())[0]).content.decode()
    account_services.user_set_active(actor=None, user=viewer, active=False)
    assert client.get(key_uri(text)).status_code == 401  # revoked with the account (videos.revocation)
    from videos import revocation

    revocation.forget()
    User = type(viewer)
    User.objects.filter(pk=viewer.pk).update(tokens_revoked_at=None)
    assert client.get(key_uri(text)).status_code == 404  # and the key view reads the account anyway


def test_key_rechecks_that_the_video_is_still_visible(client, viewer, published, make_user):
    client.force_login(viewer)
    text = client.get(uris(client.get(master_path(published)).content.decode())[0]).content.decode()
    approver = make_user(roles.VIEWER, roles.APPROVER, username="appy2")
    services.video_reject(user=approver, video=published, reason="Shows a patient's face")
    assert client.get(key_uri(text)).status_code == 401  # withdrawn (videos.revocation)
    from videos import revocation

    Video.objects.filter(pk=published.pk).update(media_revoked_at=None)
    revocation.forget()
    assert client.get(key_uri(text)).status_code == 404  # and the key view checks visibility anyway


def test_images_are_signed_and_the_storyboard_links_its_sprite(client, viewer, published):
    client.force_login(viewer)
    detail = client.get(f"/api/v1/videos/{published.uuid}/").json()
    client.logout()
    poster = client.get(detail["poster_url"])
    assert poster.status_code == 200
    assert poster["Content-Type"] == "image/jpeg"
    assert client.get(detail["poster_url"].split("?")[0]).status_code == 401
    vtt = client.get(detail["storyboard_url"])
    assert vtt.status_code == 200
    sprite_url = vtt.content.decode().splitlines()[3].split("#")[0]
    assert "token=" in sprite_url
    assert client.get(sprite_url).status_code == 200
    # An image token does not open segments.
    image_token = _token(detail["poster_url"])
    segment = f"/api/v1/videos/{published.uuid}/hls/180p/seg_00000.ts?token={image_token}"
    assert client.get(segment).status_code == 401


def test_signed_master_url_works_for_plain_clients_and_dies_with_the_account(client, api, viewer, published):
    client.force_login(viewer)
    hls_url = client.get(f"/api/v1/videos/{published.uuid}/").json()["hls_url"]
    client.logout()
    path = urlparse(hls_url).path + "?" + urlparse(hls_url).query
    assert client.get(path).status_code == 200
    account_services.user_lock(actor=None, user=viewer)
    assert client.get(path).status_code == 401


def test_path_tricks_are_404(client, viewer, published):
    client.force_login(viewer)
    variant_url = uris(client.get(master_path(published)).content.decode())[0]
    token = _token(variant_url)
    base = f"/api/v1/videos/{published.uuid}/hls"
    for path in [
        "../../originals/x/index.m3u8",
        "180p/../../master.m3u8",
        "180p/seg_1.ts",
        "180p/index.m3u8.ts",
        "..%2F..%2Foriginals/seg_00000.ts",
    ]:
        response = client.get(f"{base}/{path}?token={token}")
        assert response.status_code == 404, path
    image_token = delivery.sign(scope="image", video_uuid=published.uuid, user_id=viewer.pk, ttl=60)
    # What lies beside the ladder but is never served: what made it, the storyboard's tiles.
    (published.hls_dir / "ladder.json").write_text("{}")
    (published.hls_dir / "storyboard_00000.jpg").write_bytes(b"\xff\xd8TILE")
    for name in [
        "../poster.jpg",
        "secret.txt",
        "master.m3u8",
        "180p%2Fseg_00000.ts",
        "ladder.json",
        "storyboard_00000.jpg",
    ]:
        response = client.get(f"/api/v1/videos/{published.uuid}/media/{name}?token={image_token}")
        assert response.status_code == 404, name


def test_x_accel_redirect_hands_segments_to_nginx(client, viewer, published, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    client.force_login(viewer)
    segment_url = uris(client.get(uris(client.get(master_path(published)).content.decode())[0]).content.decode())[0]
    response = client.get(segment_url)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/hls/{published.uuid}/180p/seg_00000.ts"
    assert response.content == b""


def test_nothing_under_media_root_is_reachable_by_path(client, viewer, published, settings):
    client.force_login(viewer)
    relative = published.original_path
    for url in [
        f"/media/{relative}",
        f"/{relative}",
        f"/static/../var/media/{relative}",
        f"/media-is-never-served-directly/{relative}",
        f"/media/hls/{published.uuid}/master.m3u8",
    ]:
        assert client.get(url).status_code == 404, url


def test_viewer_cannot_reprocess_and_uploader_cannot_edit_anothers_video(api, viewer, published, make_user):
    api.force_authenticate(viewer)
    assert api.post(f"/api/v1/videos/{published.uuid}/reprocess/").status_code == 403
    assert api.patch(f"/api/v1/videos/{published.uuid}/", {"title": "Mine now"}, format="json").status_code == 403
    other = make_user(roles.VIEWER, roles.UPLOADER, username="otto")
    api.force_authenticate(other)
    assert api.patch(f"/api/v1/videos/{published.uuid}/", {"title": "Mine now"}, format="json").status_code == 403
    assert api.delete(f"/api/v1/videos/{published.uuid}/").status_code == 403
    published.refresh_from_db()
    assert published.title != "Mine now"


@pytest.mark.django_db(transaction=True)
def test_ffmpeg_reads_the_signed_master_url_and_decodes_every_rung(live_server, api, make_user, media, tmp_path):
    uploader = make_user(roles.VIEWER, roles.UPLOADER, username="uploader-live")
    api.force_authenticate(uploader)
    from tests.videos_helpers import upload

    response = upload(api, media.odd_size())  # two rungs: 480p and 360p
    video = Video.objects.get(uuid=response.json()["id"])  # transcoded on commit (synchronous queue in tests)
    assert video.status == "processed", video.failure_reason
    hls_url = api.get(f"/api/v1/videos/{video.uuid}/").json()["hls_url"]
    url = live_server.url + urlparse(hls_url).path + "?" + urlparse(hls_url).query
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,width,height", "-of", "csv=p=0", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert {"video,854,480", "video,640,360"} <= set(probe.stdout.split())
    decode = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", url, "-map", "0:v", "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert decode.returncode == 0, decode.stderr
    assert decode.stderr == ""


@pytest.mark.parametrize("scope_token", ["none", "expired", "other_user_forged"])
def test_every_media_endpoint_refuses_a_missing_expired_or_forged_token(client, viewer, published, scope_token):
    def token(scope):
        if scope_token == "none":
            return ""
        if scope_token == "expired":
            return delivery.sign(scope=scope, video_uuid=published.uuid, user_id=viewer.pk, ttl=-1)
        good = delivery.sign(scope=scope, video_uuid=published.uuid, user_id=viewer.pk, ttl=600)
        _, issued, expires, tag, signature = good.split(".")
        return f"{viewer.pk + 7}.{issued}.{expires}.{tag}.{signature}"

    base = f"/api/v1/videos/{published.uuid}"
    endpoints = {
        f"{base}/hls/master.m3u8": "master",
        f"{base}/hls/180p/index.m3u8": "media",
        f"{base}/hls/180p/seg_00000.ts": "media",
        f"{base}/hls/key": "key",
        f"{base}/media/poster.jpg": "image",
        f"{base}/media/storyboard.jpg": "image",
        f"{base}/media/storyboard.vtt": "image",
    }
    for path, scope in endpoints.items():
        response = client.get(f"{path}?token={token(scope)}")
        assert response.status_code == 401, (path, response.status_code)
