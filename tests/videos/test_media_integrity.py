"""
Integrity hardening on real FFmpeg: truncated recordings, probe limits, where the AES key
lives during a transcode, and failure reasons that name no server path.
"""

import base64
import os
import stat
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core.exceptions import ValidationError

from tests.media import clip
from tests.videos_helpers import media_files, ready_video, upload
from videos import ingest, transcoding
from videos.models import Rendition, Upload, Video

pytestmark = pytest.mark.django_db
UPLOADS = "/api/v1/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
TRUNCATED = (
    "The recording looks truncated: its header says 3.0 s but the video stream ends at 1.0 s. Upload the complete file."
)


class Clips:
    """Samples this module needs beyond tests/media.py, built once per session."""

    def __init__(self, folder: Path):
        self.folder = folder

    def complete(self) -> Path:
        """3 s, moov at the front (-movflags +faststart), as the truncated one started out."""
        path = self.folder / "complete.mp4"
        if not path.exists():
            clip(path, seconds=3, extra=("-movflags", "+faststart"))
        return path

    def truncated(self) -> Path:
        """The complete clip cut to a third of its bytes: the header still says 3 s."""
        path = self.folder / "cut.mp4"
        if not path.exists():
            data = self.complete().read_bytes()
            path.write_bytes(data[: len(data) // 3])
        return path

    def offset(self) -> Path:
        """3 s whose timestamps start at 10 s: the container's duration says 13 s."""
        path = self.folder / "offset.mkv"
        if not path.exists():
            clip(path, seconds=3, extra=("-output_ts_offset", "10"))
        return path

    def portrait(self) -> Path:
        path = self.folder / "portrait-180x320.mp4"
        if not path.exists():
            clip(path, size="180x320", seconds=1, audio=False)
        return path

    def landscape_4_3(self) -> Path:
        path = self.folder / "landscape-320x240.mp4"
        if not path.exists():
            clip(path, size="320x240", seconds=1, audio=False)
        return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    return Clips(tmp_path_factory.mktemp("integrity-samples"))


def tus_upload(api, path: Path):
    """Create a tus upload and send the whole file in one PATCH; returns the PATCH response."""
    data = path.read_bytes()
    filename = base64.b64encode(path.name.encode()).decode()
    created = api.post(UPLOADS, HTTP_UPLOAD_LENGTH=str(len(data)), HTTP_UPLOAD_METADATA=f"filename {filename}", **TUS)
    assert created.status_code == 201, created.content
    url = urlparse(created["Location"]).path
    return api.generic(
        "PATCH", url, data, content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0", **TUS
    )


def send(api, path: Path, door: str):
    return upload(api, path) if door == "multipart" else tus_upload(api, path)


def refusal(response) -> str:
    """The one message of a 400, whichever door answered it."""
    detail = response.json()["detail"]
    return detail[0] if isinstance(detail, list) else detail


def extinf_seconds(playlist: Path) -> float:
    return sum(
        float(line.split(":", 1)[1].rstrip(","))
        for line in playlist.read_text().splitlines()
        if line.startswith("#EXTINF")
    )


# ------------------------------------------------------------------------------ item 8: truncation


def test_the_truncation_rule():
    """Short by more than max(0.5 s, min(2 s, 2 %)) of the declared length: see transcoding.looks_truncated."""
    assert transcoding.looks_truncated(declared=3.0, held=0.96)
    assert not transcoding.looks_truncated(declared=3.0, held=2.6)  # 0.4 s: frame and priming rounding
    assert transcoding.looks_truncated(declared=3.0, held=2.4)
    assert not transcoding.looks_truncated(declared=60, held=58.9)  # 2 % of a minute is 1.2 s
    assert transcoding.looks_truncated(declared=60, held=58.7)
    assert not transcoding.looks_truncated(declared=3 * 3600, held=3 * 3600 - 1.9)  # 2 s at most, however long
    assert transcoding.looks_truncated(declared=3 * 3600, held=3 * 3600 - 2.1)
    assert not transcoding.looks_truncated(declared=10, held=10.3)  # longer than declared is never truncation


@pytest.mark.slow
@pytest.mark.parametrize("door", ["multipart", "tus"])
def test_a_truncated_recording_is_refused_at_ingest_saying_where_it_ends(uploader_api, clips, settings, door):
    response = send(uploader_api, clips.truncated(), door)
    assert response.status_code == 400, response.content
    assert refusal(response) == TRUNCATED
    assert Video.objects.count() == 0 and Upload.objects.count() == 0
    assert media_files(settings) == []


@pytest.mark.slow
def test_the_ladder_check_fails_a_recording_truncated_after_ingest(
    uploader_api, clips, django_capture_on_commit_callbacks, settings
):
    """The net behind the ingest check: the ladder holds 0.96 s of a file whose header says 3 s."""
    with django_capture_on_commit_callbacks() as queued:
        response = upload(uploader_api, clips.complete())
    assert response.status_code == 201, response.content
    video = Video.objects.get(uuid=response.json()["id"])
    assert video.duration == 3.0
    data = video.original_file.read_bytes()
    video.original_file.write_bytes(data[: len(data) // 3])  # the disk lost the tail before the job ran
    with django_capture_on_commit_callbacks(execute=True):  # the chunks the job queues run too
        for job in queued:
            job()
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.failure_reason == TRUNCATED
    assert video.duration == pytest.approx(0.96)
    assert video.job_token is None and not video.hls_dir.exists()
    assert not Rendition.objects.filter(video=video).exists()
    assert not list(video.hls_dir.parent.glob(".work-*"))
    body = uploader_api.get(f"/api/v1/videos/{video.uuid}/").json()
    assert (body["status"], body["duration"], body["failure_reason"]) == ("failed", pytest.approx(0.96), TRUNCATED)


@pytest.mark.slow
def test_a_reprocess_of_a_truncated_original_keeps_the_old_ladder_and_its_duration(
    api, uploader, clips, django_capture_on_commit_callbacks
):
    video = ready_video(api, uploader, clips.complete(), django_capture_on_commit_callbacks)
    assert (video.status, video.duration) == (Video.Status.PROCESSED, pytest.approx(3.0))
    old_key = bytes(video.hls_key)
    data = video.original_file.read_bytes()
    video.original_file.write_bytes(data[: len(data) // 3])
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/v1/videos/{video.uuid}/reprocess/").status_code == 200
    video.refresh_from_db()
    assert video.status == Video.Status.PROCESSED
    assert video.failure_reason == f"Reprocessing failed: {TRUNCATED}"
    assert video.duration == pytest.approx(3.0)  # what the ladder still in service holds
    assert bytes(video.hls_key) == old_key
    assert extinf_seconds(video.hls_dir / "180p" / "index.m3u8") == pytest.approx(3.0)


@pytest.mark.slow
def test_the_listed_duration_is_what_the_ladder_holds(uploader_api, clips, django_capture_on_commit_callbacks):
    """Timestamps from 10 s: the header says 13 s, 3 s play. Not truncated, and listed as 3 s."""
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(uploader_api, clips.offset())
    assert response.status_code == 201, response.content
    video = Video.objects.get(uuid=response.json()["id"])
    assert video.status == Video.Status.PROCESSED, video.failure_reason
    held = extinf_seconds(video.hls_dir / "180p" / "index.m3u8")
    assert held == pytest.approx(3.0, abs=0.05)
    assert video.duration == pytest.approx(held)
    assert uploader_api.get(f"/api/v1/videos/{video.uuid}/").json()["duration"] == pytest.approx(held)


# ------------------------------------------------------------------------------ item 9: probe limits


@pytest.mark.slow
@pytest.mark.parametrize("door", ["multipart", "tus"])
@pytest.mark.parametrize(
    "limit,value,message",
    [
        (
            "VIDEO_MAX_DURATION_SECONDS",
            1,
            "The video is 2 seconds long; the limit is 1 second (VIDEO_MAX_DURATION_SECONDS).",
        ),
        (
            "VIDEO_MAX_WIDTH",
            300,
            "The picture is 320×180 pixels; its longer side may be at most 300 pixels (VIDEO_MAX_WIDTH).",
        ),
        (
            "VIDEO_MAX_HEIGHT",
            160,
            "The picture is 320×180 pixels; its shorter side may be at most 160 pixels (VIDEO_MAX_HEIGHT).",
        ),
        (
            "VIDEO_MAX_FRAME_RATE",
            24,
            "The video runs at 25 frames per second; the limit is 24 (VIDEO_MAX_FRAME_RATE).",
        ),
    ],
)
def test_sources_beyond_a_probe_limit_are_400_naming_it(uploader_api, media, settings, door, limit, value, message):
    setattr(settings, limit, value)
    response = send(uploader_api, media.mp4(), door)
    assert response.status_code == 400, response.content
    assert refusal(response) == message
    assert Video.objects.count() == 0 and Upload.objects.count() == 0
    assert media_files(settings) == []


@pytest.mark.slow
def test_picture_limits_apply_to_the_long_and_short_side(uploader_api, clips, settings):
    """A portrait (or rotated) source gets the same allowance as a landscape one."""
    settings.VIDEO_MAX_WIDTH, settings.VIDEO_MAX_HEIGHT = 320, 180
    assert upload(uploader_api, clips.portrait()).status_code == 201
    taller = upload(uploader_api, clips.landscape_4_3())
    assert taller.status_code == 400
    assert refusal(taller) == (
        "The picture is 320×240 pixels; its shorter side may be at most 180 pixels (VIDEO_MAX_HEIGHT)."
    )


def test_limit_messages_read_humanly(settings):
    settings.VIDEO_MAX_DURATION_SECONDS = 8 * 3600
    settings.VIDEO_MAX_FRAME_RATE = 60
    long_case = transcoding.Probe("mov,mp4", 10 * 3600, 1920, 1080, 0, "h264", "yuv420p", 30, "aac")
    with pytest.raises(ValidationError) as refused:
        ingest.check_limits(long_case)
    assert refused.value.messages == ["The video is 10 hours long; the limit is 8 hours (VIDEO_MAX_DURATION_SECONDS)."]
    fast = transcoding.Probe("mov,mp4", 90, 1920, 1080, 0, "h264", "yuv420p", 119.88, "aac")
    with pytest.raises(ValidationError) as refused:
        ingest.check_limits(fast)
    assert refused.value.messages == [
        "The video runs at 119.88 frames per second; the limit is 60 (VIDEO_MAX_FRAME_RATE)."
    ]
    ingest.check_limits(transcoding.Probe("mov,mp4", 6 * 3600, 1080, 1920, 90, "h264", "yuv420p", 59.94, None))


# ------------------------------------------------------------------------------ the key stays private


@pytest.mark.slow
@pytest.mark.parametrize("preset,status", [("superfast", "processed"), ("no-such-preset", "failed")])
def test_the_aes_key_never_touches_media_root(
    uploader_api, media, settings, monkeypatch, tmp_path, django_capture_on_commit_callbacks, preset, status
):
    """While FFmpeg runs, the key and its info file are in a private 0700 folder outside MEDIA_ROOT."""
    private = tmp_path / "private"
    private.mkdir()
    settings.TRANSCODE_TMP_DIR = str(private)
    settings.TRANSCODE_PRESET = preset
    media_root = Path(settings.MEDIA_ROOT)
    seen = {}
    real_run = transcoding.run

    def observing_run(argv, **kwargs):
        if "-hls_key_info_file" in argv:
            key_info = Path(argv[argv.index("-hls_key_info_file") + 1])
            key_file = Path(key_info.read_text().splitlines()[1])
            key = key_file.read_bytes()
            seen.update(
                key_info=key_info,
                key_file=key_file,
                key=key,
                modes=[stat.S_IMODE(os.stat(p).st_mode) for p in (key_info.parent, key_info, key_file)],
                under_media_root=[p for p in media_root.rglob("*") if p.is_file() and key in p.read_bytes()],
            )
        return real_run(argv, **kwargs)

    monkeypatch.setattr(transcoding, "run", observing_run)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(uploader_api, media.mp4())
    video = Video.objects.get(uuid=response.json()["id"])
    assert video.status == status, video.failure_reason
    assert seen["key_info"].parent.parent == private
    assert seen["key_file"].parent == seen["key_info"].parent
    assert seen["modes"] == [0o700, 0o600, 0o600]
    assert seen["under_media_root"] == []
    assert list(private.iterdir()) == []  # removed whatever the outcome
    if status == "processed":
        assert bytes(video.hls_key) == seen["key"]
    assert not any(seen["key"] in p.read_bytes() for p in media_root.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------ no server paths in reasons


def test_server_paths_are_taken_out_of_messages(settings):
    settings.MEDIA_ROOT = Path("/srv/My Media")
    tail = (
        "[hls @ 0x55c8] failed to rename file /srv/My Media/hls/.work-ab12/180p/index.m3u8.tmp to "
        "/srv/My Media/hls/.work-ab12/180p/index.m3u8: Not a directory"
    )
    assert transcoding.without_paths(tail) == "[hls @ 0x55c8] failed to rename file (path) to (path): Not a directory"
    assert (
        transcoding.without_paths(
            "/srv/My Media/originals/x.mp4: Invalid data found, see /tmp/q/log.",
            named={"/srv/My Media/originals/x.mp4": "the recording"},
        )
        == "the recording: Invalid data found, see (path)."
    )
    untouched = "Stream #0:0 -> #0:1 (h264 -> libx264) 64 kb/s N/A 30000/1001 fps v:0,a:0"
    assert transcoding.without_paths(untouched) == untouched


@pytest.mark.slow
def test_a_failure_reason_names_no_server_path(
    uploader_api, media, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The original vanishes between the probe and the ladder: FFmpeg names its path, the reason must not."""
    real_run = transcoding.run

    def losing_the_original(argv, **kwargs):
        if "-hls_key_info_file" in argv:
            Path(argv[argv.index("-i") + 1]).unlink(missing_ok=True)
        return real_run(argv, **kwargs)

    monkeypatch.setattr(transcoding, "run", losing_the_original)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(uploader_api, media.mp4())
    video = Video.objects.get(uuid=response.json()["id"])
    assert video.status == Video.Status.FAILED
    # A chunk is tried twice, then the video fails naming the stretch of the timeline.
    assert (
        video.failure_reason
        == "Encoding 0:00–0:02 failed twice: ffmpeg exited 1: the recording: No such file or directory"
    )
    body = uploader_api.get(f"/api/v1/videos/{video.uuid}/").content.decode()
    assert str(settings.MEDIA_ROOT) not in body and "/tmp/" not in body
