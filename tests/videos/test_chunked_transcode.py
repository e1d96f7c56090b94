"""
Long cases in chunks (issue #14): the ladder is encoded a stretch at a time by separate tasks,
joins without a seam, plays while it is being made, and loses at most one chunk to a crash.

The queue runs synchronously in tests; where a test needs to stop between chunks it captures
the on-commit callbacks (which queue the tasks) and runs chunk tasks itself.
"""

import os
import signal
import subprocess
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.media import ffmpeg
from tests.videos_helpers import decrypt, upload, uris
from videos import transcoding
from videos.models import TranscodeChunk, TranscodeJob, Video
from videos.services import transcode

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

Chunk = TranscodeChunk


@pytest.fixture
def short_chunks(settings):
    """6 s, then 12 s chunks: a 30 s source makes three (and the audio)."""
    settings.TRANSCODE_FIRST_CHUNK_SECONDS = 6
    settings.TRANSCODE_CHUNK_SECONDS = 12


@pytest.fixture(scope="session")
def two_rungs(tmp_path_factory) -> Path:
    """20 s of 854×480 at 25 fps, no sound: a 480p and a 360p rung."""
    path = tmp_path_factory.mktemp("two-rungs") / "case.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=25", "-t", "20",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def case(tmp_path_factory) -> Path:
    """30 s at 29.97 fps with a tone: the frame rate whose chunk edges fall between frames."""
    path = tmp_path_factory.mktemp("case") / "case.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30000/1001",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", "30", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", str(path),
    )  # fmt: skip
    return path


def audio_samples(url_or_path: str) -> int:
    """Decoded audio samples (one channel's count), via a known sample format."""
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", url_or_path, "-map", "0:a:0", "-ac", "1", "-f", "s16le", "-"],
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    return len(done.stdout) // 2


def video_frames(url_or_path: str) -> int:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_frames", "-of", "csv=p=0", url_or_path],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[0].rstrip(","))


def segments(playlist_text: str) -> list[tuple[float, str]]:
    return transcoding.segments_of(playlist_text)


# ------------------------------------------------------------------------------ planning


def test_the_timeline_is_cut_into_segment_aligned_chunks():
    assert transcoding.plan_chunks(150, first=12, size=60) == [
        transcoding.Chunk(0, 0, 12),
        transcoding.Chunk(1, 12, 72),
        transcoding.Chunk(2, 72, 132),
        transcoding.Chunk(3, 132, 150),
    ]
    # A tail under a second joins the last chunk rather than making one with no frame in it.
    assert transcoding.plan_chunks(72.5, first=12, size=60)[-1] == transcoding.Chunk(1, 12, 72.5)
    assert transcoding.plan_chunks(2, first=12, size=60) == [transcoding.Chunk(0, 0, 2)]
    assert [c.first_segment for c in transcoding.plan_chunks(150, first=12, size=60)] == [0, 2, 12, 22]
    with pytest.raises(ValueError, match="multiples of 6"):
        transcoding.plan_chunks(100, first=10, size=60)


def test_the_frame_rate_is_an_exact_fraction_capped_at_60():
    def rate(value):
        probe = transcoding.Probe("mov", 10, 320, 180, 0, "h264", "yuv420p", value, None)
        return transcoding.output_rate(probe)

    assert str(rate(30000 / 1001)) == "30000/1001"
    assert str(rate(25.0)) == "25"
    assert str(rate(59.94005994)) == "60000/1001"
    assert str(rate(120.0)) == "60"


def test_chunks_are_queued_in_timeline_order_a_window_at_a_time(
    uploader_api, case, short_chunks, settings, django_capture_on_commit_callbacks
):
    settings.TRANSCODE_QUEUED_CHUNKS = 2
    with django_capture_on_commit_callbacks() as uploaded:
        response = upload(uploader_api, case)
    video = Video.objects.get(uuid=response.json()["id"])
    with django_capture_on_commit_callbacks() as planned:
        uploaded[0]()  # the planning task
    job = TranscodeJob.objects.get(video=video)
    states = {(c.kind, c.index): c.status for c in job.chunks.all()}
    # The first chunk, then the audio (the start plays once both are in); the rest wait their turn.
    assert states == {
        ("video", 0): "queued",
        ("audio", 0): "queued",
        ("video", 1): "waiting",
        ("video", 2): "waiting",
    }
    assert len(planned) == 2
    first = job.chunks.get(kind="video", index=0)
    with django_capture_on_commit_callbacks() as after_first:
        assert transcode.transcode_chunk_run(chunk_id=first.pk, token=str(job.token)).startswith("ready to")
    # One done frees a place in the window: the next chunk in timeline order is queued.
    assert job.chunks.get(kind="video", index=1).status == "queued"
    assert job.chunks.get(kind="video", index=2).status == "waiting"
    assert len(after_first) == 1


# ------------------------------------------------------------------------------ seamless


@pytest.mark.django_db(transaction=True)
def test_the_joined_chunks_hold_every_frame_and_sample_of_the_source(live_server, api, make_user, case, settings):
    settings.TRANSCODE_FIRST_CHUNK_SECONDS = 6
    settings.TRANSCODE_CHUNK_SECONDS = 12
    uploader = make_user("Viewer", "Uploader", username="uploader-live")
    api.force_authenticate(uploader)
    video = Video.objects.get(uuid=upload(api, case).json()["id"])  # transcoded on commit (sync queue)
    assert video.status == "processed", video.failure_reason
    assert not TranscodeJob.objects.exists()  # the job's rows go when the ladder is complete
    for rung in ["180p"]:
        text = (video.hls_dir / rung / "index.m3u8").read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
        durations = [duration for duration, _ in segments(text)]
        # Segments run on across the seams (0-1 | 2-3 | 4-5) and add up to the source.
        assert [name for _, name in segments(text)] == [f"seg_{i:05d}.ts" for i in range(5)]
        assert sum(durations) == pytest.approx(30, abs=0.5)
    assert sorted(p.name for p in (video.hls_dir / "180p").iterdir()) == [
        "index.m3u8",
        *(f"seg_{i:05d}.ts" for i in range(5)),
    ]
    hls_url = api.get(f"/api/v1/videos/{video.uuid}/").json()["hls_url"]
    url = live_server.url + urlparse(hls_url).path + "?" + urlparse(hls_url).query
    # No frame lost or doubled at a seam, no audio gap: the counts of a decode of the source.
    assert video_frames(url) == video_frames(str(case))
    source_samples, ladder_samples = audio_samples(str(case)), audio_samples(url)
    # AAC adds its priming (1024 samples) and pads the last frame; nothing else may differ.
    assert 0 <= ladder_samples - source_samples <= 2048, (source_samples, ladder_samples)


def test_keyframes_and_segments_line_up_across_rungs_and_seams(
    uploader_api, two_rungs, short_chunks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        video = Video.objects.get(uuid=upload(uploader_api, two_rungs).json()["id"])
    video.refresh_from_db()
    assert video.status == "processed", video.failure_reason
    lists = {rung: segments((video.hls_dir / rung / "index.m3u8").read_text()) for rung in ["480p", "360p"]}
    assert lists["480p"] == lists["360p"]  # the same segments, the same durations, in every rung
    assert [round(duration, 3) for duration, _ in lists["480p"]] == [6.0, 6.0, 6.0, 2.0]
    for rung in lists:
        # Every segment of every rung starts on a keyframe (the chunks' 2 s GOPs).
        for _, name in lists[rung]:
            clear = decrypt((video.hls_dir / rung / name).read_bytes(), bytes(video.hls_key), video.hls_iv)
            path = video.hls_dir / f"{rung}-{name}"
            path.write_bytes(clear)
            first = subprocess.run(
                ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=key_frame",
                 "-read_intervals", "%+#1", "-of", "csv=p=0", str(path)],
                capture_output=True, text=True, check=True,
            ).stdout.split()  # fmt: skip
            assert first[0].rstrip(",") == "1", (rung, name)
            path.unlink()


# ------------------------------------------------------------------------------ playable while processing


def test_the_start_plays_while_the_rest_is_encoded(
    uploader_api, viewer, case, short_chunks, django_capture_on_commit_callbacks
):
    viewer_api = APIClient()
    viewer_api.force_authenticate(viewer)
    with django_capture_on_commit_callbacks() as uploaded:
        response = upload(uploader_api, case)
    video = Video.objects.get(uuid=response.json()["id"])
    with django_capture_on_commit_callbacks():
        uploaded[0]()  # plan; every chunk is queued but none has run
    job = TranscodeJob.objects.get(video=video)
    body = uploader_api.get(f"/api/v1/videos/{video.uuid}/").json()
    assert (body["status"], body["playable"], body["ready_seconds"]) == ("processing", False, 0)
    assert uploader_api.get(f"/api/v1/videos/{video.uuid}/hls/master.m3u8").status_code == 409

    for kind in ["video", "audio"]:
        chunk = job.chunks.get(kind=kind, index=0)
        with django_capture_on_commit_callbacks():
            transcode.transcode_chunk_run(chunk_id=chunk.pk, token=str(job.token))
    body = uploader_api.get(f"/api/v1/videos/{video.uuid}/").json()
    assert (body["status"], body["playable"], body["ready_seconds"]) == ("processing", True, 6)
    assert body["progress"] == 20  # 6 of 30 source seconds
    assert body["processing_eta_seconds"] >= 1

    master = uploader_api.get(f"/api/v1/videos/{video.uuid}/hls/master.m3u8")
    assert master.status_code == 200
    text = master.content.decode()
    assert "TYPE=AUDIO" in text and "/hls/audio/index.m3u8?token=" in text
    variant = uploader_api.get(uris(text)[0]).content.decode()
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in variant and "#EXT-X-ENDLIST" not in variant
    assert len(uris(variant)) == 1  # the first chunk's one segment; the next ones are not listed yet
    segment = uploader_api.get(uris(variant)[0])
    assert segment.status_code == 200
    # Viewers still see published videos only; the uploader and reviewers watch it as it is made.
    assert viewer_api.get(f"/api/v1/videos/{video.uuid}/hls/master.m3u8").status_code == 404

    for chunk in job.chunks.exclude(status="done").order_by("index"):
        with django_capture_on_commit_callbacks():
            transcode.transcode_chunk_run(chunk_id=chunk.pk, token=str(job.token))
    video.refresh_from_db()
    assert (video.status, video.progress, video.ready_seconds) == ("processed", 100, pytest.approx(30, abs=0.5))
    variant = uploader_api.get(
        uris(uploader_api.get(f"/api/v1/videos/{video.uuid}/hls/master.m3u8").content.decode())[0]
    )
    assert "#EXT-X-ENDLIST" in variant.content.decode() and len(uris(variant.content.decode())) == 5


def test_a_reprocess_builds_beside_the_served_ladder_and_swaps_when_complete(
    uploader_api, uploader, case, short_chunks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        video = Video.objects.get(uuid=upload(uploader_api, case).json()["id"])
    video.refresh_from_db()
    old_key, old_ready = bytes(video.hls_key), video.ready_seconds
    with django_capture_on_commit_callbacks() as queued:
        assert uploader_api.post(f"/api/v1/videos/{video.uuid}/reprocess/").status_code == 200
    with django_capture_on_commit_callbacks():
        queued[0]()  # plan only
    job = TranscodeJob.objects.get(video=video)
    assert job.in_place is False
    first = job.chunks.get(kind="video", index=0)
    with django_capture_on_commit_callbacks():
        transcode.transcode_chunk_run(chunk_id=first.pk, token=str(job.token))
    video.refresh_from_db()
    # The old ladder, its key and its length serve until the new one is complete.
    assert (video.status, bytes(video.hls_key), video.ready_seconds) == ("processed", old_key, old_ready)
    assert "#EXT-X-ENDLIST" in (video.hls_dir / "180p" / "index.m3u8").read_text()
    for chunk in job.chunks.exclude(status="done"):
        with django_capture_on_commit_callbacks():
            transcode.transcode_chunk_run(chunk_id=chunk.pk, token=str(job.token))
    video.refresh_from_db()
    assert bytes(video.hls_key) != old_key and video.job_token is None
    assert not list(video.hls_dir.parent.glob(".work-*"))


# ------------------------------------------------------------------------------ crashes and stops


def test_a_worker_that_died_mid_chunk_costs_that_chunk_only(
    uploader_api, case, short_chunks, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as uploaded:
        response = upload(uploader_api, case)
    video = Video.objects.get(uuid=response.json()["id"])
    with django_capture_on_commit_callbacks():
        uploaded[0]()
    job = TranscodeJob.objects.get(video=video)
    for chunk in job.chunks.filter(index=0):
        with django_capture_on_commit_callbacks():
            transcode.transcode_chunk_run(chunk_id=chunk.pk, token=str(job.token))
    # The worker that took chunk 1 was killed: running, and its heartbeat stopped long ago.
    stale = timezone.now() - timedelta(seconds=settings.TRANSCODE_STALL_SECONDS + 60)
    dead = job.chunks.get(kind="video", index=1)
    Chunk.objects.filter(pk=dead.pk).update(status="running", attempts=1, started_at=stale, heartbeat_at=stale)
    Video.objects.filter(pk=video.pk).update(heartbeat_at=stale)
    with django_capture_on_commit_callbacks() as requeued:
        assert transcode.videos_reap_stalled() == 1
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("queued", 1)
    video.refresh_from_db()
    assert video.status == "processing" and video.ready_seconds == 6  # not failed: one chunk to redo
    assert len(requeued) == 1
    for chunk in job.chunks.exclude(status="done").order_by("index"):
        with django_capture_on_commit_callbacks():
            transcode.transcode_chunk_run(chunk_id=chunk.pk, token=str(job.token))
    video.refresh_from_db()
    assert video.status == "processed", video.failure_reason


def test_a_chunk_whose_worker_dies_three_times_fails_the_video_naming_the_stretch(
    uploader_api, case, short_chunks, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as uploaded:
        response = upload(uploader_api, case)
    video = Video.objects.get(uuid=response.json()["id"])
    with django_capture_on_commit_callbacks():
        uploaded[0]()
    job = TranscodeJob.objects.get(video=video)
    stale = timezone.now() - timedelta(seconds=settings.TRANSCODE_STALL_SECONDS + 60)
    job.chunks.filter(kind="video", index=2).update(status="running", attempts=3, heartbeat_at=stale)
    with django_capture_on_commit_callbacks(execute=True):
        transcode.videos_reap_stalled()
    video.refresh_from_db()
    assert video.status == "failed"
    assert video.failure_reason.startswith("The worker encoding 0:18–0:30 stopped responding 3 times")
    assert not TranscodeJob.objects.exists() and not video.hls_dir.exists()


def test_a_stop_signal_puts_the_chunk_in_flight_back_in_the_queue_at_once(
    uploader_api, case, short_chunks, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as uploaded:
        response = upload(uploader_api, case)
    video = Video.objects.get(uuid=response.json()["id"])
    with django_capture_on_commit_callbacks():
        uploaded[0]()
    job = TranscodeJob.objects.get(video=video)
    chunk = job.chunks.get(kind="video", index=1)
    started = []

    class Recorded(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)
            # The supervisor's SIGTERM arrives while FFmpeg is encoding.
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()

    monkeypatch.setattr(transcoding.subprocess, "Popen", Recorded)
    handler = signal.getsignal(signal.SIGTERM)
    with django_capture_on_commit_callbacks() as requeued:
        outcome = transcode.transcode_chunk_run(chunk_id=chunk.pk, token=str(job.token))
    assert outcome == "stopping: chunk queued again"
    chunk.refresh_from_db()
    assert (chunk.status, chunk.attempts) == ("queued", 0)  # a stop is not the chunk's fault
    assert len(requeued) == 1
    assert [process.poll() is not None for process in started] == [True]  # FFmpeg did not outlive it
    assert signal.getsignal(signal.SIGTERM) is handler  # the worker's own handling is back


def test_a_superseded_jobs_chunk_writes_nothing(uploader_api, case, short_chunks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as uploaded:
        response = upload(uploader_api, case)
    video = Video.objects.get(uuid=response.json()["id"])
    with django_capture_on_commit_callbacks():
        uploaded[0]()
    job = TranscodeJob.objects.get(video=video)
    chunk = job.chunks.get(kind="video", index=0)
    with django_capture_on_commit_callbacks():
        uploader_api.post(f"/api/v1/videos/{video.uuid}/reprocess/")  # a new token; its job not planned yet
    assert transcode.transcode_chunk_run(chunk_id=chunk.pk, token=str(job.token)).startswith("not queued")
    chunk.refresh_from_db()
    assert chunk.status == "queued" and chunk.attempts == 0
