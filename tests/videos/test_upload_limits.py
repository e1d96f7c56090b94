"""
Issue #12, uploads: a refused multipart body leaves nothing on disk, only the ``file`` part is
ever written, multipart checks the free space like tus, and each person has a quota.
Each test failed on the code before its fix.
"""

import base64
import shutil
from pathlib import Path

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.factories import VideoFactory
from tests.videos_helpers import media_files
from videos.models import Upload, Video

pytestmark = pytest.mark.django_db

CSRF = "a" * 32  # a raw CSRF secret: the cookie and the form field, as a browser form sends them


def browser(user) -> Client:
    """A signed-in browser whose CSRF checks are real (so the multipart body is parsed before the view runs)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def tmp_files(settings) -> list[Path]:
    return sorted(p for p in (Path(settings.MEDIA_ROOT) / "tmp").glob("*") if p.is_file())


def test_a_viewers_multipart_upload_is_refused_before_a_byte_is_stored(viewer, media, settings):
    client = browser(viewer)
    with open(media.mp4(), "rb") as handle:
        response = client.post(
            "/api/v1/videos/",
            {"csrfmiddlewaretoken": CSRF, "file": handle, "title": "Not mine to upload"},
            HTTP_X_CSRFTOKEN=CSRF,
        )
    assert response.status_code == 403
    assert response.json()["detail"] == "Your role may not upload videos."
    assert tmp_files(settings) == []
    assert media_files(settings) == []
    assert not Video.objects.exists()


def test_only_the_file_part_is_ever_written_and_nothing_is_left(
    uploader, media, settings, django_capture_on_commit_callbacks
):
    client = browser(uploader)
    body = {"csrfmiddlewaretoken": CSRF, "title": "Case"}
    with (
        open(media.mp4(), "rb") as body["file"],
        open(media.other_mp4(), "rb") as body["attachment"],
        open(media.mp4(), "rb") as body["spare"],
        django_capture_on_commit_callbacks(execute=False),
    ):
        response = client.post("/api/v1/videos/", body, HTTP_X_CSRFTOKEN=CSRF)
    assert response.status_code == 201, response.content
    assert tmp_files(settings) == []
    stored = Video.objects.get()
    assert [p.relative_to(settings.MEDIA_ROOT) for p in media_files(settings)] == [Path(stored.original_path)]


def test_a_refused_file_leaves_nothing_behind(uploader, media, settings, tmp_path):
    png = tmp_path / "scan.mp4"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096)
    client = browser(uploader)
    with open(png, "rb") as handle:
        response = client.post("/api/v1/videos/", {"csrfmiddlewaretoken": CSRF, "file": handle}, HTTP_X_CSRFTOKEN=CSRF)
    assert response.status_code == 400
    assert "is not a MP4 video" in response.json()["detail"]
    assert media_files(settings) == []


def test_a_second_file_field_named_file_is_skipped(api, uploader, media, settings, django_capture_on_commit_callbacks):
    api.force_authenticate(uploader)
    with (
        open(media.mp4(), "rb") as first,
        open(media.other_mp4(), "rb") as second,
        django_capture_on_commit_callbacks(execute=False),
    ):
        response = api.post("/api/v1/videos/", {"file": [first, second], "title": "Two in one"}, format="multipart")
    assert response.status_code == 201, response.content
    assert Video.objects.get().md5 == response.json()["md5"]
    assert tmp_files(settings) == []
    assert len(media_files(settings)) == 1


def test_multipart_checks_the_free_space_before_writing(api, uploader, media, settings):
    (Path(settings.MEDIA_ROOT) / "tmp").mkdir(parents=True)
    # The disk's real free space, all of it reserved: the small clip no longer fits.
    settings.MEDIA_FREE_RESERVE_BYTES = shutil.disk_usage(settings.MEDIA_ROOT).free
    api.force_authenticate(uploader)
    with open(media.mp4(), "rb") as handle:
        response = api.post("/api/v1/videos/", {"file": handle}, format="multipart")
    assert response.status_code == 507, response.content
    assert "free and this file needs" in response.json()["detail"]
    assert "stays free for processing" in response.json()["detail"]
    assert tmp_files(settings) == []
    assert not Video.objects.exists()


# ------------------------------------------------------------------------------ quota


def tus_create(api, length: int, name: str = "case.mp4"):
    return api.post(
        "/api/v1/uploads/",
        HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=f"filename {base64.b64encode(name.encode()).decode()}",
        HTTP_TUS_RESUMABLE="1.0.0",
    )


def test_tus_creation_past_the_quota_is_413_counting_stored_and_unfinished(api, uploader, settings, make_user):
    settings.UPLOAD_QUOTA_BYTES = 10_000
    VideoFactory(uploader=uploader, title="Stored", size_bytes=4_000, status="published")
    api.force_authenticate(uploader)
    assert tus_create(api, 3_000).status_code == 201  # 4 000 stored + 3 000 unfinished
    refused = tus_create(api, 3_001)
    assert refused.status_code == 413
    detail = refused.json()["detail"]
    assert "upload quota of 9.8\xa0KB" in detail and "you already hold 6.8\xa0KB" in detail
    assert Upload.objects.filter(user=uploader).count() == 1
    event = AuditEvent.objects.get(event=AuditEvent.Event.QUOTA_REFUSED)
    assert (event.actor, event.detail) == (uploader, {"used": 7_000, "length": 3_001, "quota": 10_000})
    assert tus_create(api, 3_000).status_code == 201  # exactly at the quota
    # Another person's quota is their own.
    api.force_authenticate(make_user("Viewer", "Uploader", username="otto"))
    assert tus_create(api, 10_000).status_code == 201


def test_multipart_past_the_quota_is_413_and_writes_nothing(api, uploader, media, settings):
    size = media.mp4().stat().st_size
    settings.UPLOAD_QUOTA_BYTES = size  # the whole body (file and its multipart framing) is a little larger
    api.force_authenticate(uploader)
    with open(media.mp4(), "rb") as handle:
        response = api.post("/api/v1/videos/", {"file": handle}, format="multipart")
    assert response.status_code == 413, response.content
    assert "upload quota" in response.json()["detail"]
    assert tmp_files(settings) == [] and media_files(settings) == []
    assert AuditEvent.objects.filter(event=AuditEvent.Event.QUOTA_REFUSED, actor=uploader).count() == 1


def test_no_quota_when_it_is_zero(api, uploader, settings):
    settings.UPLOAD_QUOTA_BYTES = 0
    settings.VIDEO_MAX_UPLOAD_BYTES = 2**40
    VideoFactory(uploader=uploader, title="Huge", size_bytes=2**39, status="published")
    api.force_authenticate(uploader)
    assert tus_create(api, 10_000).status_code == 201
