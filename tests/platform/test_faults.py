"""
Faults, in-process: the state a killed transcode worker leaves behind, and a shared cache that
is down. scripts/faulttest does the real thing (SIGKILL of qcluster, Redis stopped under
gunicorn, a full tmpfs, PostgreSQL restarted); these pin the recovery rules in the suite.

A worker killed mid-job (SIGKILL, OOM, power) runs no cleanup: the video keeps its job token,
its heartbeat stops, and the job's work folder stays half-written. ``_killed_job`` builds
exactly that, so the reaper and the delivery views meet what production would leave.

Tests marked ``xfail(strict=True)`` pin defects found by scripts/faulttest; each reason names
the fix. Once fixed they pass, strict xfail turns that into a failure, and the marker goes.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.videos_helpers import ready_video, upload, uris
from videos import services, transcoding
from videos.models import Video

pytestmark = pytest.mark.django_db


def _killed_job(video: Video, *, progress: int, silent_for: float) -> Path:
    """What SIGKILL of the worker leaves: token kept, heartbeat stopped, a partial work folder."""
    token = video.job_token
    Video.objects.filter(pk=video.pk).update(
        status=Video.Status.PROCESSING if video.status == Video.Status.PENDING else video.status,
        progress=progress,
        heartbeat_at=timezone.now() - timedelta(seconds=silent_for),
        processing_started_at=timezone.now() - timedelta(seconds=silent_for + 60),
    )
    work = video.hls_dir.parent / f".work-{video.uuid}-{token.hex[:8]}"
    (work / "180p").mkdir(parents=True)
    (work / ".key").write_bytes(b"k" * 16)
    (work / "180p" / "seg_00000.ts").write_bytes(b"\x47" * 188 * 100)
    (work / "180p" / "index.m3u8").write_text("#EXTM3U\n#EXTINF:6.0,\nseg_00000.ts\n")  # no ENDLIST
    return work


def _first_segment(api, video: Video) -> bytes:
    master = api.get(f"/api/v1/videos/{video.uuid}/hls/master.m3u8")
    assert master.status_code == 200, master.content
    variant = api.get(uris(master.content.decode())[0])
    assert variant.status_code == 200
    segment = api.get(uris(variant.content.decode())[0])
    assert segment.status_code == 200
    return b"".join(segment.streaming_content)


@pytest.mark.slow
def test_a_killed_first_encode_is_reaped_and_recovered(
    api, uploader, media, django_capture_on_commit_callbacks, settings
):
    api.force_authenticate(uploader)
    video = Video.objects.get(uuid=upload(api, media.mp4()).json()["id"])  # queued; the worker dies mid-way
    token = video.job_token
    _killed_job(video, progress=40, silent_for=settings.TRANSCODE_STALL_SECONDS - 30)
    master = f"/api/v1/videos/{video.uuid}/hls/master.m3u8"
    assert api.get(master).status_code == 409  # the half-written ladder is never served
    assert services.videos_reap_stalled() == 0  # silent for less than TRANSCODE_STALL_SECONDS

    Video.objects.filter(pk=video.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.TRANSCODE_STALL_SECONDS + 1)
    )
    assert services.videos_reap_stalled() == 1
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED and video.job_token is None
    assert "stopped responding" in video.failure_reason
    assert api.get(master).status_code == 409
    assert not video.hls_dir.exists()
    # django-q2 hands the killed job to a worker again after Q_CLUSTER["retry"]: it must do nothing.
    assert services.video_transcode(video_id=video.pk, token=str(token)) == "superseded or deleted"

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/v1/videos/{video.uuid}/reprocess/").status_code == 200
    video.refresh_from_db()
    assert video.status == Video.Status.PROCESSED and video.failure_reason == ""
    assert _first_segment(api, video)


@pytest.mark.slow
def test_a_killed_reprocess_keeps_the_old_ladder_serving(
    api, uploader, media, django_capture_on_commit_callbacks, settings
):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    old_key, old_segment = bytes(video.hls_key), _first_segment(api, video)
    assert api.post(f"/api/v1/videos/{video.uuid}/reprocess/").status_code == 200  # queued, not run
    video.refresh_from_db()
    token = video.job_token
    _killed_job(video, progress=60, silent_for=settings.TRANSCODE_STALL_SECONDS + 1)
    assert _first_segment(api, video) == old_segment  # while the job is dead

    assert services.videos_reap_stalled() == 1
    video.refresh_from_db()
    assert video.status == Video.Status.PROCESSED and video.job_token is None
    assert video.failure_reason.startswith("Reprocessing failed: The transcoding worker stopped responding")
    assert bytes(video.hls_key) == old_key
    assert _first_segment(api, video) == old_segment
    # The killed job, handed out again by django-q2 later, must not touch the ladder in service.
    assert services.video_transcode(video_id=video.pk, token=str(token)) == "superseded or deleted"
    assert _first_segment(api, video) == old_segment


def test_the_reaper_removes_the_killed_jobs_work_folder(api, uploader, media, settings):
    api.force_authenticate(uploader)
    video = Video.objects.get(uuid=upload(api, media.mp4()).json()["id"])
    work = _killed_job(video, progress=40, silent_for=settings.TRANSCODE_STALL_SECONDS + 1)
    assert services.videos_reap_stalled() == 1
    assert not work.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reprocess_failed_command_recovers_a_reaped_video(api, uploader, make_user, media, settings):
    from django.core.management import call_command

    from accounts import roles

    make_user(roles.EDITOR, username="eddie")  # the command's actor
    api.force_authenticate(uploader)
    settings.TRANSCODE_PRESET = "no-such-preset"  # the first run fails, as a killed-and-reaped one would
    video = Video.objects.get(uuid=upload(api, media.mp4()).json()["id"])  # transaction=True: the job runs
    assert Video.objects.get(pk=video.pk).status == Video.Status.FAILED
    settings.TRANSCODE_PRESET = "superfast"
    call_command("reprocess_videos", "--failed")
    assert Video.objects.get(pk=video.pk).status == Video.Status.PROCESSED


# ------------------------------------------------------------------------------ cache down

# Nothing listens on port 1: every cache call fails at once, as when Redis is down.
REDIS_DOWN = {
    "default": {
        "BACKEND": "config.cache.TolerantRedisCache",  # as settings use with REDIS_URL
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5},
    }
}


def test_signed_in_reads_do_not_need_the_cache(api, viewer):
    api.force_authenticate(viewer)
    with override_settings(CACHES=REDIS_DOWN):
        assert api.get("/api/v1/videos/").status_code == 200
        assert api.get("/api/v1/tags/").status_code == 200


def test_search_and_home_work_while_the_cache_is_down(api, client, viewer):
    api.force_authenticate(viewer)
    client.force_login(viewer, backend="accounts.backends.UsernameOrEmailBackend")
    with override_settings(CACHES=REDIS_DOWN):
        assert api.get("/api/v1/videos/", {"q": "gallbladder"}).status_code == 200
        assert client.get("/library/search/", {"q": "gallbladder"}).status_code == 200
        assert client.get("/").status_code == 200


def test_sign_in_fails_closed_with_a_message_while_the_cache_is_down(api, client, viewer, password):
    with override_settings(CACHES=REDIS_DOWN):
        response = api.post("/api/v1/auth/token/", {"username": viewer.username, "password": password}, format="json")
        page = client.post("/accounts/login/", {"username": viewer.username, "password": password})
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert "access" not in response.json() and response.json()["detail"]
    assert page.status_code == 429  # the sign-in page says to wait, rather than a bare 500


# ------------------------------------------------------------------------------ disk full
# scripts/faulttest fills a real tmpfs; here ENOSPC is raised where the disk would raise it.


def _enospc(*args, **kwargs):
    import errno

    raise OSError(errno.ENOSPC, "No space left on device")


def test_ffmpeg_out_of_space_is_named_in_the_reason(tmp_path):
    """Real FFmpeg writing to /dev/full (always ENOSPC): the reason says the storage is full."""
    from videos import transcoding

    source = ["-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-t", "1", "-f", "mpegts", "-y"]
    result = transcoding.run_simple(["ffmpeg", "-nostdin", *source, "/dev/full"], timeout=60)
    # FFmpeg 5.1 exits 0 here ("Error closing file"), so the job checks for it whatever the code.
    assert transcoding.out_of_space(result), result.stderr_tail
    assert transcoding.failure_reason(result) == transcoding.DISK_FULL_REASON
    fine = transcoding.run_simple(["ffmpeg", "-nostdin", *source, str(tmp_path / "ok.ts")], timeout=60)
    assert fine.returncode == 0 and not transcoding.out_of_space(fine)


@pytest.mark.slow
def test_a_transcode_on_a_full_disk_fails_with_the_reason_and_leaves_nothing(
    api, uploader, media, settings, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(transcoding, "make_poster", _enospc)  # the first file the job writes after its key
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason == transcoding.DISK_FULL_REASON
    assert "space" in video.failure_reason and "reprocess" in video.failure_reason
    assert video.original_file.exists()  # the original is untouched
    assert not list(video.hls_dir.parent.glob(".work-*")) and not video.hls_dir.exists()


def test_tus_creation_larger_than_the_free_space_is_507(api, uploader, settings):
    import shutil

    settings.VIDEO_MAX_UPLOAD_BYTES = 2**60
    (Path(settings.MEDIA_ROOT) / "uploads").mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(settings.MEDIA_ROOT).free
    api.force_authenticate(uploader)
    response = api.post(
        "/api/v1/uploads/",
        HTTP_UPLOAD_LENGTH=str(free + 2**30),
        HTTP_UPLOAD_METADATA="filename Y2FzZS5tcDQ=",
        HTTP_TUS_RESUMABLE="1.0.0",
    )
    assert response.status_code == 507, response.content
    assert "free and this file needs" in response.json()["detail"]
    assert "0.0" not in response.json()["detail"]  # human sizes, not 0.0 GiB
    from videos.models import Upload

    assert not Upload.objects.exists()


@pytest.mark.slow
def test_tus_patch_on_a_full_disk_is_507_and_resumes_later(api, uploader, media, monkeypatch):
    import base64
    import hashlib
    from urllib.parse import urlparse

    from videos.services import uploads

    data = media.mp4().read_bytes()
    api.force_authenticate(uploader)
    created = api.post(
        "/api/v1/uploads/",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA=f"filename {base64.b64encode(b'case.mp4').decode()}",
        HTTP_TUS_RESUMABLE="1.0.0",
    )
    url = urlparse(created["Location"]).path

    def send(start, end=None):
        return api.generic(
            "PATCH",
            url,
            data[start:end],
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET=str(start),
            HTTP_TUS_RESUMABLE="1.0.0",
        )

    assert send(0, 100_000).status_code == 204
    real_write = uploads._write_all

    def fills_up(handle, chunk):
        handle.write(chunk[: len(chunk) // 2])  # part of the chunk lands, then the disk is full
        _enospc()

    monkeypatch.setattr(uploads, "_write_all", fills_up)
    full = send(100_000)
    assert full.status_code == 507, full.content
    assert "storage is full" in full.json()["detail"] and "byte 100000" in full.json()["detail"]
    assert api.head(url, HTTP_TUS_RESUMABLE="1.0.0")["Upload-Offset"] == "100000"
    from videos.models import Upload

    assert Upload.objects.get().path.stat().st_size == 100_000  # the half chunk was cut off
    monkeypatch.setattr(uploads, "_write_all", real_write)  # space was freed
    done = send(100_000)
    assert done.status_code == 204, done.content
    assert Video.objects.get(uuid=done["X-Video-Id"]).md5 == hashlib.md5(data).hexdigest()


def test_a_multipart_upload_on_a_full_disk_is_507(api, uploader, media, monkeypatch):
    from videos import ingest

    monkeypatch.setattr(ingest.HashingUploadHandler, "receive_data_chunk", _enospc)
    api.force_authenticate(uploader)
    response = upload(api, media.mp4())
    assert response.status_code == 507, response.content
    assert "storage is full" in response.json()["detail"]
    assert not Video.objects.exists()


# ------------------------------------------------------------------------------ database down
# scripts/faulttest stops a real PostgreSQL; here a view meets the driver's error, and the
# health probe (config.health.database_ok) says whether the database itself is gone.


@pytest.mark.parametrize("down,status", [(True, 503), (False, 500)])
def test_a_database_outage_is_503_with_retry_after_and_a_bug_stays_500(viewer, monkeypatch, down, status):
    from django.db import OperationalError
    from django.test import Client
    from rest_framework.test import APIClient

    from config import health
    from library import views as library_views
    from library.api import views as api_views

    def outage(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(health, "database_ok", lambda: not down)
    monkeypatch.setattr(api_views.VideoListApi, "list", outage)
    monkeypatch.setattr(library_views, "_published_categories", outage)

    api = APIClient(raise_request_exception=False)
    api.force_authenticate(viewer)
    response = api.get("/api/v1/videos/")
    assert response.status_code == status
    assert "Connection refused" not in response.content.decode()  # no driver text
    page = Client(raise_request_exception=False)
    page.force_login(viewer, backend="accounts.backends.UsernameOrEmailBackend")
    from django.core.cache import cache

    cache.clear()
    home = page.get("/")
    assert home.status_code == status
    if down:
        assert response["Retry-After"] == home["Retry-After"] == "5"
        assert "database" in response.json()["detail"]
        assert "Briefly unavailable" in home.content.decode()
    else:
        assert "Retry-After" not in response


def test_the_outage_probe_sees_a_working_database():
    from config import health

    assert health.database_ok() is True
