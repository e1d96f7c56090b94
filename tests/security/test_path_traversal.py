"""
Hostile input, part 2 — path traversal. Every path or file parameter (HLS rung and segment
names, media image names, tus upload ids, static files) is attacked with ``../``, encoded
dots and slashes, absolute paths, backslashes, NUL and newlines, with a *valid* token so
only the name stands between the attacker and the disk; secrets planted around the ladder
never come back. Upload file names with ``../``, absolute paths and NUL (tus metadata and
multipart) never put a byte outside ``MEDIA_ROOT`` and are stored as plain names.
"""

import base64
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import LadderVideoFactory
from videos import delivery
from videos.models import Upload, Video

pytestmark = pytest.mark.django_db

UPLOADS = "/api/v1/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
SECRET = b"TOP-SECRET-DO-NOT-SERVE"


@pytest.fixture
def ladder(uploader, viewer, settings):
    """A published video with a ladder, and secrets planted where a traversal would land."""
    video = LadderVideoFactory(uploader=uploader, title="Ladder")
    root = Path(settings.MEDIA_ROOT)
    for planted in [
        root / "secret.ts",
        root / "hls" / "secret.ts",
        root / "hls" / "index.m3u8",
        root / "hls" / "poster.jpg",
        root / "hls" / str(video.uuid) / "secret.ts",
        root / "hls" / str(video.uuid) / "360p" / "secret.ts",
        root / "private" / "id-documents" / "seg_00000.ts",
        root.parent / "outside.ts",
    ]:
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_bytes(SECRET)
    (root / "hls" / str(video.uuid) / "evil").mkdir()
    (root / "hls" / str(video.uuid) / "evil" / "index.m3u8").write_bytes(SECRET)
    return video


def _token(video, user, scope):
    return delivery.sign(scope=scope, video_uuid=video.uuid, user_id=user.pk, ttl=600)


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


RUNGS = [
    "..",
    "%2e%2e",
    ".%2E",
    "%2e%2e%2f%2e%2e",
    "..%2f..",
    "..%5c..",
    "..\\..",
    "%2fetc",
    "360p%2f..",
    "360p%00",
    "360p%0a",
    "360p%0d%0a",
    "evil",
    "360p%20",
    "%33%36%30p",  # "360p" spelled with escapes: the same rung, must not be an error
    "0360p",
    "3600000p",
]
SEGMENTS = [
    "..",
    "%2e%2e",
    "secret.ts",
    "..%2fsecret.ts",
    "%2e%2e%2f%2e%2e%2fsecret.ts",
    "..%5csecret.ts",
    "%2fetc%2fpasswd",
    "seg_00000.ts%00",
    "seg_00000.ts%00.jpg",
    "seg_00000.ts%2f..%2f..%2fsecret.ts",
    "seg_00000.ts%0a",
    "seg_00000.ts%0d%0aX-Injected:%201",
    "seg_0000.ts",
    "seg_000000.ts",
    "SEG_00000.TS",
    "key.bin",
]
IMAGES = [
    "..",
    "%2e%2e",
    "master.m3u8",
    "key.bin",
    "360p",
    "secret.ts",
    "poster.jpg%00",
    "poster.jpg%00.png",
    "poster.jpg%0a",
    "poster.jpg%2f..",
    "..%2fposter.jpg",
    "..%2f..%2fhls%2fposter.jpg",
    "%2e%2e%2f%2e%2e%2fsecret.ts",
    "storyboard.vtt%0a",
    "POSTER.JPG",
]


# Spellings of a real file that open it (200, its own content); every other name is a 404.
SAME_RUNG = {"%33%36%30p"}  # "360p", percent-encoded
SAME_SEGMENT = {"seg_00000.ts%0a"}
SAME_IMAGE = {"poster.jpg%0a"}


def test_rung_names_never_leave_the_ladder(client, viewer, ladder):
    token = _token(ladder, viewer, "media")
    good = client.get(f"/api/v1/videos/{ladder.uuid}/hls/360p/index.m3u8?token={token}")
    assert good.status_code == 200  # control
    failures = []
    for rung in RUNGS:
        for url in (
            f"/api/v1/videos/{ladder.uuid}/hls/{rung}/index.m3u8?token={token}",
            f"/api/v1/videos/{ladder.uuid}/hls/{rung}/seg_00000.ts?token={token}",
            f"/api/v1/videos/{ladder.uuid}/hls/{rung}/secret.ts?token={token}",
        ):
            expected = 200 if rung in SAME_RUNG and "/secret.ts" not in url else 404
            response = Client().get(url)
            body = _body(response)
            if SECRET in body or response.status_code != expected:
                failures.append(f"{url}: {response.status_code}")
            elif response.status_code == 200 and b"SEGMENT-" not in body and b"#EXTM3U" not in body:
                failures.append(f"{url}: 200 with something else")
    assert failures == [], "\n".join(failures)


def test_segment_names_never_leave_the_rung(viewer, ladder):
    token = _token(ladder, viewer, "media")
    good = Client().get(f"/api/v1/videos/{ladder.uuid}/hls/360p/seg_00000.ts?token={token}")
    assert good.status_code == 200 and _body(good).startswith(b"SEGMENT-")  # control
    failures = []
    for segment in SEGMENTS:
        url = f"/api/v1/videos/{ladder.uuid}/hls/360p/{segment}?token={token}"
        response = Client().get(url)
        body = _body(response)
        expected = 200 if segment in SAME_SEGMENT else 404
        if SECRET in body or response.status_code != expected or "X-Injected" in response:
            failures.append(f"{segment}: {response.status_code}")
        elif response.status_code == 200 and not body.startswith(b"SEGMENT-"):
            failures.append(f"{segment}: 200 with something else")
    assert failures == [], "\n".join(failures)


def test_image_names_never_leave_the_video_folder(viewer, ladder):
    token = _token(ladder, viewer, "image")
    good = Client().get(f"/api/v1/videos/{ladder.uuid}/media/poster.jpg?token={token}")
    assert good.status_code == 200  # control
    failures = []
    for name in IMAGES:
        response = Client().get(f"/api/v1/videos/{ladder.uuid}/media/{name}?token={token}")
        body = _body(response)
        expected = 200 if name in SAME_IMAGE else 404
        if SECRET in body or response.status_code != expected or bytes(ladder.hls_key) in body:
            failures.append(f"{name}: {response.status_code}")
        elif response.status_code == 200 and not (body.startswith(b"\xff\xd8") or body.startswith(b"WEBVTT")):
            failures.append(f"{name}: 200 with something else")
    assert failures == [], "\n".join(failures)


def test_video_uuid_in_media_urls_cannot_be_a_path(viewer, ladder):
    """The uuid converter is the only way in: a token for a crafted "uuid" opens nothing."""
    for fake in [
        "..",
        "%2e%2e",
        f"{ladder.uuid}%2f..",
        f"{ladder.uuid}/..",
        "hls",
        "00000000-0000-0000-0000-000000000000",
    ]:
        token = delivery.sign(scope="media", video_uuid=fake, user_id=viewer.pk, ttl=600)
        for url in (
            f"/api/v1/videos/{fake}/hls/360p/seg_00000.ts?token={token}",
            f"/api/v1/videos/{fake}/hls/360p/index.m3u8?token={token}",
        ):
            response = Client().get(url)
            assert response.status_code == 404, (url, response.status_code)
            assert SECRET not in _body(response)


def test_traversal_through_nginx_accel_redirect_never_names_another_file(viewer, ladder, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    token = _token(ladder, viewer, "media")
    good = Client().get(f"/api/v1/videos/{ladder.uuid}/hls/360p/seg_00000.ts?token={token}")
    assert good["X-Accel-Redirect"] == f"/protected-media/hls/{ladder.uuid}/360p/seg_00000.ts"  # control
    for segment in SEGMENTS:
        response = Client().get(f"/api/v1/videos/{ladder.uuid}/hls/360p/{segment}?token={token}")
        redirect = response.get("X-Accel-Redirect", "")
        assert redirect in ("", good["X-Accel-Redirect"]), (segment, redirect)


def test_tus_upload_ids_cannot_be_paths(uploader, settings):
    api = APIClient()
    api.force_authenticate(uploader)
    for upload_id in [
        "..",
        "%2e%2e",
        "..%2f..%2fsecret",
        "%2fetc%2fpasswd",
        "00000000-0000-0000-0000-000000000000%00",
        "../../../etc/passwd",
    ]:
        url = f"{UPLOADS}{upload_id}/"
        for method in ("head", "get", "delete"):
            assert getattr(api, method)(url, **TUS).status_code == 404, (method, upload_id)
        patch = api.generic(
            "PATCH", url, b"x", content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0", **TUS
        )
        assert patch.status_code == 404, upload_id
    assert not (Path(settings.MEDIA_ROOT).parent / "secret").exists()


def test_static_and_media_urls_serve_no_source_or_data(client, settings):
    base = Path(settings.BASE_DIR)
    assert (base / "manage.py").exists() and (base / "config" / "settings.py").exists()
    for url in [
        "/static/../manage.py",
        "/static/%2e%2e/manage.py",
        "/static/..%2fmanage.py",
        "/static/css/../../manage.py",
        "/static/%2e%2e%2f%2e%2e%2fconfig%2fsettings.py",
        "/static/..%5cconfig%5csettings.py",
        "/static/%2e%2e/.env",
        "/static/%2e%2e/db.sqlite3",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/media/secret.ts",
        "/media/../manage.py",
        "/hls/secret.ts",
        "/originals/",
    ]:
        response = client.get(url)
        body = _body(response)
        assert response.status_code == 404, (url, response.status_code)
        for leak in (b"SECRET_KEY", b"DJANGO_SETTINGS_MODULE", b"SQLite format", b"root:x:", SECRET):
            assert leak not in body, (url, leak)


# ------------------------------------------------------------------------------ uploaded file names


def _meta(**values) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def files_outside(root: Path, before: set[Path]) -> list[Path]:
    """Files created under ``root`` (the test's tmp dir) but outside MEDIA_ROOT."""
    media = root / "media"
    return [p for p in root.rglob("*") if p.is_file() and p not in before and media not in p.parents]


# Each name and the answer to a tus creation with it: accepted (201, stored under a safe name)
# or refused (400: a NUL or a line break is no file name).
HOSTILE_NAMES = {
    "../../../../{tmp}/evil-{tag}.mp4": 201,
    "..\\..\\..\\evil-{tag}.mp4": 201,
    "/{tmp}/abs-{tag}.mp4": 201,
    "....//....//evil-{tag}.mp4": 201,
    "%2e%2e%2fevil-{tag}.mp4": 201,
    "originals/../../evil-{tag}.mp4": 201,
    "evil-{tag}.sh\x00.mp4": 400,
    "evil\x00-{tag}.mp4": 400,
    "evil-{tag}.mp4\r\nX-Injected: 1": 400,
}


def test_tus_file_names_never_choose_a_path(uploader, tmp_path, settings):
    api = APIClient()
    api.force_authenticate(uploader)
    tag = uuid.uuid4().hex[:8]
    before = {p for p in tmp_path.rglob("*")}
    failures = []
    for template, status in HOSTILE_NAMES.items():
        name = template.format(tmp=tmp_path.as_posix().lstrip("/"), tag=tag)
        response = api.post(UPLOADS, HTTP_UPLOAD_LENGTH="1000", HTTP_UPLOAD_METADATA=_meta(filename=name), **TUS)
        if response.status_code != status:
            failures.append(f"{name!r}: {response.status_code}")
        if response.status_code != 201:
            continue
        upload = Upload.objects.get(pk=urlparse(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1])
        if "/" in upload.filename or upload.filename in ("", ".", ".."):
            failures.append(f"{name!r}: stored as {upload.filename!r}")
        if upload.path.parent != Path(settings.MEDIA_ROOT) / "uploads":
            failures.append(f"{name!r}: bytes at {upload.path}")
    assert failures == [], "\n".join(failures)
    assert files_outside(tmp_path, before) == []
    assert not list(Path("/").glob(f"*evil*{tag}*")) and not list(tmp_path.parent.glob(f"*{tag}*"))


def test_tus_file_names_are_stored_as_plain_printable_names(uploader):
    api = APIClient()
    api.force_authenticate(uploader)
    failures = []
    names = {  # and the answer: accepted under a cleaned name, or refused (a NUL)
        "..\\..\\evil.mp4": 201,
        "C:\\Windows\\evil.mp4": 201,
        "evil.sh\x00.mp4": 400,
        "ev\x00il.mp4": 400,
        "ev\x1bil.mp4": 201,
        "ev\u202eil.mp4": 201,
    }
    for name, status in names.items():
        response = api.post(UPLOADS, HTTP_UPLOAD_LENGTH="1000", HTTP_UPLOAD_METADATA=_meta(filename=name), **TUS)
        assert response.status_code == status, name
        if status == 400:
            continue
        stored = Upload.objects.get(pk=urlparse(response["Location"]).path.rstrip("/").rsplit("/", 1)[-1]).filename
        if "\\" in stored or not stored.isprintable():
            failures.append(f"{name!r} stored as {stored!r}")
    assert failures == [], "\n".join(failures)


def test_completed_uploads_land_under_media_root_whatever_the_name(uploader, media, tmp_path, settings):
    """A whole tus upload and a multipart upload, both named with ../ and a NUL."""
    api = APIClient()
    api.force_authenticate(uploader)
    data = media.mp4().read_bytes()
    before = {p for p in tmp_path.rglob("*")}
    # tus
    name = f"../../../../{tmp_path.as_posix().lstrip('/')}/evil-tus.mp4"
    created = api.post(UPLOADS, HTTP_UPLOAD_LENGTH=str(len(data)), HTTP_UPLOAD_METADATA=_meta(filename=name), **TUS)
    assert created.status_code == 201, created.content
    url = urlparse(created["Location"]).path
    done = api.generic(
        "PATCH", url, data, content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0", **TUS
    )
    assert done.status_code == 204, done.content
    # multipart (different content, so not a duplicate)
    other = data + b"\x00" * 64
    response = api.post(
        "/api/v1/videos/",
        {"file": SimpleUploadedFile("../../../evil-multipart\x00.mp4", other, content_type="video/mp4")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    media_root = Path(settings.MEDIA_ROOT).resolve()
    videos = list(Video.objects.all())
    assert len(videos) == 2
    for video in videos:
        assert video.original_path == f"originals/{video.uuid}.mp4"
        assert video.original_file.resolve().parent == media_root / "originals"
        assert video.original_file.is_file()
        assert not any(bad in video.original_name for bad in ("/", "\\", "\x00")), video.original_name
        assert ".." not in video.original_name
    assert files_outside(tmp_path, before) == []
    assert not (tmp_path / "evil-tus.mp4").exists()
    for path in Path(settings.MEDIA_ROOT).rglob("*"):
        assert media_root in path.resolve().parents
