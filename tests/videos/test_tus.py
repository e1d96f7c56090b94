"""tus 1.0 resumable uploads: the protocol, resuming, bad requests, and the Python client tuspy."""

import base64
import fcntl
import hashlib
import socket
import time
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts import roles
from tests.factories import UploadFactory
from tests.videos_helpers import media_files
from videos.models import Upload, Video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
UPLOADS = "/api/v1/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def meta(**values) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def create(api, data: bytes, filename="clip.mp4", **metadata):
    response = api.post(
        UPLOADS, HTTP_UPLOAD_LENGTH=str(len(data)), HTTP_UPLOAD_METADATA=meta(filename=filename, **metadata), **TUS
    )
    assert response.status_code == 201, response.content
    return urlparse(response["Location"]).path


def patch(api, url, chunk: bytes, offset: int, **extra):
    return api.generic(
        "PATCH",
        url,
        chunk,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **TUS,
        **extra,
    )


def test_options_advertises_the_protocol(api):
    response = api.options(UPLOADS)
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Extension"] == "creation,termination,expiration"
    assert int(response["Tus-Max-Size"]) > 0


def test_upload_in_chunks_with_resume_and_metadata(uploader_api, media, django_capture_on_commit_callbacks, uploader):
    data = media.mp4().read_bytes()
    url = create(uploader_api, data, title="Resumed case", tags="")
    head = uploader_api.head(url, **TUS)
    assert head["Upload-Offset"] == "0" and head["Upload-Length"] == str(len(data))
    first = patch(uploader_api, url, data[:50_000], 0)
    assert first.status_code == 204 and first["Upload-Offset"] == "50000"
    # Later (another request, maybe another worker): ask where we are, carry on.
    assert uploader_api.head(url, **TUS)["Upload-Offset"] == "50000"
    with django_capture_on_commit_callbacks(execute=True):
        last = patch(uploader_api, url, data[50_000:], 50_000)
    assert last.status_code == 204, last.content
    assert last["Upload-Offset"] == str(len(data))
    video = Video.objects.get(uuid=last["X-Video-Id"])
    assert last["X-Video-Duplicate"] == "false"
    assert video.md5 == hashlib.md5(data).hexdigest()
    assert video.title == "Resumed case"
    assert video.uploader == uploader
    assert video.status == "processed"  # transcoded on commit
    status = uploader_api.get(url, **TUS).json()
    assert status["complete"] is True and status["video"] == str(video.uuid)


def test_wrong_offset_is_409_and_writes_nothing(uploader_api, media):
    data = media.mp4().read_bytes()
    url = create(uploader_api, data)
    patch(uploader_api, url, data[:10_000], 0)
    response = patch(uploader_api, url, data[20_000:30_000], 20_000)
    assert response.status_code == 409
    assert uploader_api.head(url, **TUS)["Upload-Offset"] == "10000"
    upload = Upload.objects.get()
    assert upload.path.stat().st_size == 10_000


def test_another_users_upload_is_404(api, uploader_api, media, make_user):
    data = media.mp4().read_bytes()
    url = create(uploader_api, data)
    mallory = make_user(roles.VIEWER, roles.UPLOADER, username="mallory")
    api.force_authenticate(mallory)
    assert api.head(url, **TUS).status_code == 404
    assert patch(api, url, data[:100], 0).status_code == 404
    assert api.delete(url, **TUS).status_code == 404
    assert Upload.objects.get().offset == 0


@pytest.mark.parametrize(
    "headers,status",
    [
        ({}, 412),  # no Tus-Resumable
        ({**TUS}, 400),  # no Upload-Length
        ({**TUS, "HTTP_UPLOAD_LENGTH": "-1"}, 400),
        ({**TUS, "HTTP_UPLOAD_LENGTH": "abc"}, 400),
        ({**TUS, "HTTP_UPLOAD_LENGTH": "10"}, 400),  # no filename
        ({**TUS, "HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": "filename !!!notbase64"}, 400),
        ({**TUS, "HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": meta(filename="x.exe")}, 400),
        ({**TUS, "HTTP_UPLOAD_LENGTH": str(10**15), "HTTP_UPLOAD_METADATA": meta(filename="x.mp4")}, 413),
        ({**TUS, "HTTP_UPLOAD_DEFER_LENGTH": "1", "HTTP_UPLOAD_METADATA": meta(filename="x.mp4")}, 400),
        ({**TUS, "HTTP_UPLOAD_LENGTH": "0", "HTTP_UPLOAD_METADATA": meta(filename="x.mp4")}, 400),
    ],
)
def test_bad_creation_requests(uploader_api, headers, status, settings):
    response = uploader_api.post(UPLOADS, **headers)
    assert response.status_code == status, response.content
    assert "detail" in response.json()
    assert response["Tus-Resumable"] == "1.0.0"
    assert Upload.objects.count() == 0
    assert media_files(settings) == []


def test_bad_patch_requests(uploader_api, media):
    data = media.mp4().read_bytes()
    url = create(uploader_api, data)
    wrong_type = uploader_api.generic(
        "PATCH", url, data[:10], content_type="application/octet-stream", HTTP_UPLOAD_OFFSET="0", **TUS
    )
    assert wrong_type.status_code == 415
    no_offset = uploader_api.generic("PATCH", url, data[:10], content_type="application/offset+octet-stream", **TUS)
    assert no_offset.status_code == 400
    too_long = patch(uploader_api, url, data + b"extra", 0)
    assert too_long.status_code == 400
    assert Video.objects.count() == 0


def test_content_that_is_not_a_video_is_refused_at_the_first_chunk(uploader_api, media, settings):
    data = media.png_as_mov().read_bytes() + b"\0" * 5000
    url = create(uploader_api, data, filename="image.mov")
    response = patch(uploader_api, url, data[:4096], 0)
    assert response.status_code == 400
    assert "is not a MOV video" in response.json()["detail"]
    assert Upload.objects.count() == 0
    assert media_files(settings) == []


def test_truncated_recording_is_refused_when_complete(uploader_api, media, settings):
    data = media.truncated().read_bytes()
    url = create(uploader_api, data)
    response = patch(uploader_api, url, data, 0)
    assert response.status_code == 400
    assert "not a readable video" in str(response.json())
    assert Upload.objects.count() == 0 and Video.objects.count() == 0
    assert media_files(settings) == []


def test_duplicate_through_tus(uploader_api, media, django_capture_on_commit_callbacks, settings):
    data = media.mp4().read_bytes()
    first = patch(uploader_api, create(uploader_api, data), data, 0)
    second = patch(uploader_api, create(uploader_api, data), data, 0)
    assert second.status_code == 204
    assert second["X-Video-Duplicate"] == "true"
    assert second["X-Video-Id"] == first["X-Video-Id"]
    assert Video.objects.count() == 1
    assert len([p for p in media_files(settings) if p.parent.name == "originals"]) == 1
    # A column of the upload, not a flag hidden in the client's metadata.
    assert sorted(Upload.objects.values_list("duplicate", flat=True)) == [False, True]
    assert all("_duplicate" not in metadata for metadata in Upload.objects.values_list("metadata", flat=True))
    upload_id = Upload.objects.get(duplicate=True).pk
    assert uploader_api.get(f"{UPLOADS}{upload_id}/", **TUS).json()["duplicate"] is True


def test_termination_removes_the_upload(uploader_api, media, settings):
    data = media.mp4().read_bytes()
    url = create(uploader_api, data)
    patch(uploader_api, url, data[:1000], 0)
    assert uploader_api.delete(url, **TUS).status_code == 204
    assert uploader_api.head(url, **TUS).status_code == 404
    assert media_files(settings) == []


def test_expired_uploads_are_gone_and_purged(uploader_api, media, settings):
    data = media.mp4().read_bytes()
    url = create(uploader_api, data)
    patch(uploader_api, url, data[:1000], 0)
    other = create(uploader_api, data)
    Upload.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert uploader_api.head(url, **TUS).status_code == 410
    assert patch(uploader_api, other, data[:10], 0).status_code == 410
    create(uploader_api, data)  # a live one survives the purge
    call_command("purge_expired_uploads")
    assert Upload.objects.count() == 1
    assert len(media_files(settings)) == 1


def test_concurrent_patch_is_423(uploader_api, media):
    data = media.mp4().read_bytes()
    url = create(uploader_api, data)
    with open(Upload.objects.get().path, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        assert patch(uploader_api, url, data[:100], 0).status_code == 423


def test_viewer_cannot_start_an_upload(api, viewer):
    api.force_authenticate(viewer)
    response = api.post(UPLOADS, HTTP_UPLOAD_LENGTH="100", HTTP_UPLOAD_METADATA=meta(filename="a.mp4"), **TUS)
    assert response.status_code == 403


def test_session_upload_needs_the_csrf_token(uploader, media):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(uploader)
    response = browser.post(UPLOADS, HTTP_UPLOAD_LENGTH="100", HTTP_UPLOAD_METADATA=meta(filename="a.mp4"), **TUS)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


# --------------------------------------------------------------------------- real HTTP


def _jwt(api, username, password):
    return api.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json").json()["access"]


@pytest.mark.django_db(transaction=True)
def test_tuspy_client_uploads_in_chunks(live_server, api, make_user, password, media):
    from tusclient import client as tus_client

    make_user(roles.VIEWER, roles.UPLOADER, username="tuspy-user")
    access = _jwt(api, "tuspy-user", password)
    tus = tus_client.TusClient(live_server.url + UPLOADS, headers={"Authorization": f"Bearer {access}"})
    path = media.hd(4)
    uploader = tus.uploader(str(path), chunk_size=256 * 1024, metadata={"filename": "case.mp4", "title": "Via tuspy"})
    uploader.upload()
    video = Video.objects.get(title="Via tuspy")
    assert video.md5 == hashlib.md5(path.read_bytes()).hexdigest()
    assert video.size_bytes == path.stat().st_size


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_resumes_from_the_last_byte(live_server, api, make_user, password, media):
    make_user(roles.VIEWER, roles.UPLOADER, username="wifi")
    access = _jwt(api, "wifi", password)
    data = media.hd(4).read_bytes()
    import requests

    auth = {"Authorization": f"Bearer {access}", "Tus-Resumable": "1.0.0"}
    created = requests.post(
        live_server.url + UPLOADS,
        headers={**auth, "Upload-Length": str(len(data)), "Upload-Metadata": meta(filename="wifi.mp4")},
        timeout=30,
    )
    location = created.headers["Location"]
    # Send half the body, then drop the connection (Wi-Fi gone).
    parsed = urlparse(location)
    sent = len(data) // 2
    with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as sock:
        head = (
            f"PATCH {parsed.path} HTTP/1.1\r\nHost: {parsed.netloc}\r\nAuthorization: Bearer {access}\r\n"
            f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        sock.sendall(head + data[:sent])
        time.sleep(0.5)
    for _ in range(50):  # the server notices the drop and saves what it got
        offset = int(requests.head(location, headers=auth, timeout=10).headers["Upload-Offset"])
        if offset:
            break
        time.sleep(0.1)
    assert 0 < offset <= sent
    rest = requests.patch(
        location,
        data=data[offset:],
        headers={**auth, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)},
        timeout=60,
    )
    assert rest.status_code == 204, rest.text
    video = Video.objects.get(uuid=rest.headers["X-Video-Id"])
    assert video.md5 == hashlib.md5(data).hexdigest()


def test_the_migration_moves_a_hidden_duplicate_flag_into_its_column(uploader):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("videos.migrations.0006_upload_duplicate")
    kept = {"title": "Case", "filetype": "video/mp4"}
    old = UploadFactory(
        user=uploader, filename="a.mp4", length=1, metadata={**kept, "_duplicate": True}, completed_at=timezone.now()
    )
    fresh = UploadFactory(user=uploader, filename="b.mp4", length=1, metadata={**kept, "_duplicate": False})
    untouched = UploadFactory(user=uploader, filename="c.mp4", length=1, metadata=kept)
    migration.move_flag_out_of_metadata(apps, None)
    rows = {row.pk: (row.duplicate, row.metadata) for row in Upload.objects.all()}
    assert rows == {old.pk: (True, kept), fresh.pk: (False, kept), untouched.pk: (False, kept)}
