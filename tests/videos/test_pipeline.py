"""The transcoding job on real files: ladder shape, encryption, posters, failures, reprocess."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.videos_helpers import decrypt, ready_video
from videos import services, transcoding
from videos.models import Video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def ladder(video: Video) -> dict[str, tuple[int, int]]:
    return {r.name: (r.width, r.height) for r in video.renditions.all()}


def ffprobe_streams(path: Path) -> list[dict]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
        capture_output=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_small_clip_becomes_one_encrypted_rung_with_poster_and_storyboard(
    api, uploader, media, django_capture_on_commit_callbacks
):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    assert video.status == "processed"
    assert video.progress == 100
    assert video.job_token is None
    assert ladder(video) == {"180p": (320, 180)}
    assert len(bytes(video.hls_key)) == 16
    assert len(video.hls_iv) == 32
    folder = video.hls_dir
    assert (folder / "poster.jpg").stat().st_size > 0
    assert (folder / "storyboard.jpg").exists()
    assert (folder / "storyboard.vtt").read_text().startswith("WEBVTT")
    # No key material anywhere on disk.
    names = {p.name for p in folder.rglob("*")}
    assert not names & {".key", ".keyinfo", "key.bin"}
    assert not any(bytes(video.hls_key) in p.read_bytes() for p in folder.rglob("*") if p.is_file())
    playlist = (folder / "180p" / "index.m3u8").read_text()
    assert f"IV=0x{video.hls_iv}" in playlist
    assert "#EXT-X-TARGETDURATION" in playlist
    segment = (folder / "180p" / "seg_00000.ts").read_bytes()
    assert segment[0] != 0x47  # encrypted: not the MPEG-TS sync byte
    clear = decrypt(segment, bytes(video.hls_key), video.hls_iv)
    assert clear[0] == 0x47 and clear[188] == 0x47


def test_metadata_is_stripped(api, uploader, media, django_capture_on_commit_callbacks, tmp_path):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    segment = video.hls_dir / "180p" / "seg_00000.ts"
    clear = tmp_path / "clear.ts"
    clear.write_bytes(decrypt(segment.read_bytes(), bytes(video.hls_key), video.hls_iv))
    probe = ffprobe_streams(clear)
    assert "John Doe" not in json.dumps(probe)
    assert b"John Doe" not in (video.hls_dir / "poster.jpg").read_bytes()


@pytest.mark.parametrize(
    "sample,rungs",
    [
        ("odd_size", {"480p": (854, 480), "360p": (640, 360)}),
        ("portrait", {"360p": (360, 640)}),
        ("rotated", {"360p": (360, 640)}),
        ("no_audio", {"180p": (320, 180)}),
        ("one_frame", {"180p": (320, 180)}),
        ("vfr", {"180p": (320, 180)}),
        ("tiny", {"90p": (160, 90)}),
        ("avi", {"180p": (320, 180)}),
    ],
)
def test_awkward_sources_give_a_correct_ladder(api, uploader, media, django_capture_on_commit_callbacks, sample, rungs):
    video = ready_video(api, uploader, getattr(media, sample)(), django_capture_on_commit_callbacks)
    assert video.status == "processed", video.failure_reason
    assert ladder(video) == rungs
    for name, (width, height) in rungs.items():
        playlist = (video.hls_dir / name / "index.m3u8").read_text()
        assert "#EXT-X-ENDLIST" in playlist
        clear = decrypt((video.hls_dir / name / "seg_00000.ts").read_bytes(), bytes(video.hls_key), video.hls_iv)
        path = video.hls_dir / f"{name}-clear.ts"
        path.write_bytes(clear)
        streams = ffprobe_streams(path)["streams"]
        picture = next(s for s in streams if s["codec_type"] == "video")
        assert (picture["width"], picture["height"]) == (width, height)
        assert picture["profile"] == "High"
        assert picture["pix_fmt"] == "yuv420p"
        # Video rungs carry no sound: the audio is its own rendition, shared by every rung.
        assert not any(s["codec_type"] == "audio" for s in streams)
        path.unlink()
    has_audio = sample not in {"no_audio", "one_frame", "tiny", "avi", "odd_size", "vfr"}
    assert (video.hls_dir / "audio" / "index.m3u8").exists() == has_audio
    assert ("TYPE=AUDIO" in (video.hls_dir / "master.m3u8").read_text()) == has_audio


def test_4k_source_gets_the_full_ladder_with_aligned_segments(api, uploader, media, django_capture_on_commit_callbacks):
    video = ready_video(api, uploader, media.uhd(), django_capture_on_commit_callbacks)
    assert video.status == "processed", video.failure_reason
    assert list(ladder(video)) == ["2160p", "1440p", "1080p", "720p", "480p", "360p"]
    durations = {
        name: [
            line
            for line in (video.hls_dir / name / "index.m3u8").read_text().splitlines()
            if line.startswith("#EXTINF")
        ]
        for name in ladder(video)
    }
    assert len(set(map(tuple, durations.values()))) == 1  # identical segment boundaries on every rung
    master = (video.hls_dir / "master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == 6
    assert "CODECS=" in master and "RESOLUTION=3840x2160" in master


def test_plan_ladder_never_exceeds_the_source():
    def probe(width, height):
        return transcoding.Probe("mov,mp4", 10, width, height, 0, "h264", "yuv420p", 30, "aac")

    assert [r.name for r in transcoding.plan_ladder(probe(1920, 1080))] == ["1080p", "720p", "480p", "360p"]
    assert [r.name for r in transcoding.plan_ladder(probe(1080, 1920))] == ["1080p", "720p", "480p", "360p"]
    assert transcoding.plan_ladder(probe(1080, 1920))[0].width == 1080
    assert [r.name for r in transcoding.plan_ladder(probe(640, 358))] == ["358p"]
    assert all(r.width % 2 == 0 and r.height % 2 == 0 for r in transcoding.plan_ladder(probe(1277, 719)))
    assert transcoding.plan_ladder(probe(1920, 1080))[0].level == "4.1"


def test_progress_parsing():
    assert transcoding.parse_progress({"out_time_us": "5000000"}, 10) == 50
    assert transcoding.parse_progress({"out_time_us": "N/A"}, 10) is None
    assert transcoding.parse_progress({"out_time_us": "-9223372036854775807"}, 10) is None
    assert transcoding.parse_progress({"out_time_us": "20000000"}, 10) == 99


def test_ffmpeg_failure_marks_the_video_failed_with_a_reason(
    api, uploader, media, django_capture_on_commit_callbacks, settings
):
    settings.TRANSCODE_PRESET = "no-such-preset"
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    assert video.status == "failed"
    assert video.failure_reason.startswith("Encoding 0:00–0:02 failed twice: ffmpeg exited")
    assert video.job_token is None
    assert not video.hls_dir.exists()
    assert not list(video.hls_dir.parent.glob(".work-*"))
    assert video.original_file.exists()  # the original is untouched


def test_reprocess_replaces_the_ladder_only_when_complete(
    api, uploader, media, django_capture_on_commit_callbacks, settings, make_user
):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    old_key = bytes(video.hls_key)
    # A failing reprocess leaves the old ladder and status in place.
    settings.TRANSCODE_PRESET = "no-such-preset"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/videos/{video.uuid}/reprocess/")
    assert response.status_code == 200
    video.refresh_from_db()
    assert video.status == "processed"
    assert video.failure_reason.startswith("Reprocessing failed")
    assert bytes(video.hls_key) == old_key and (video.hls_dir / "master.m3u8").exists()
    # A good one swaps in a new ladder with a new key.
    settings.TRANSCODE_PRESET = "superfast"
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v1/videos/{video.uuid}/reprocess/")
    video.refresh_from_db()
    assert video.failure_reason == ""
    assert bytes(video.hls_key) != old_key
    assert video.hls_iv in (video.hls_dir / "180p" / "index.m3u8").read_text()


def test_failed_video_is_recovered_by_reprocess(api, uploader, media, django_capture_on_commit_callbacks, settings):
    settings.TRANSCODE_PRESET = "no-such-preset"
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    assert video.status == "failed"
    settings.TRANSCODE_PRESET = "superfast"
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v1/videos/{video.uuid}/reprocess/")
    video.refresh_from_db()
    assert video.status == "processed"


def test_a_superseded_job_writes_nothing(api, uploader, media, django_capture_on_commit_callbacks):
    api.force_authenticate(uploader)
    from tests.videos_helpers import upload

    response = upload(api, media.mp4())  # queued, not run (no on_commit execution)
    video = Video.objects.get(uuid=response.json()["id"])
    stale = str(video.job_token)
    Video.objects.filter(pk=video.pk).update(job_token=None)
    assert services.video_transcode(video_id=video.pk, token=stale) == "superseded or deleted"
    video.refresh_from_db()
    assert video.status == "pending" and not video.hls_dir.exists()


def test_reaper_fails_a_job_whose_worker_died(api, uploader, media, settings):
    from datetime import timedelta

    from django.utils import timezone

    api.force_authenticate(uploader)
    from tests.videos_helpers import upload

    video = Video.objects.get(uuid=upload(api, media.mp4()).json()["id"])
    Video.objects.filter(pk=video.pk).update(
        status="processing", heartbeat_at=timezone.now() - timedelta(seconds=settings.TRANSCODE_STALL_SECONDS + 5)
    )
    assert services.videos_reap_stalled() == 1
    video.refresh_from_db()
    assert video.status == "failed"
    assert "stopped responding" in video.failure_reason
    assert video.job_token is None


def test_publish_on_success_when_approval_is_off(api, uploader, media, django_capture_on_commit_callbacks, settings):
    settings.VIDEOS_REQUIRE_APPROVAL = False
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    assert video.status == "published"
    assert video.published_at is not None


def test_delete_removes_every_file(api, uploader, media, django_capture_on_commit_callbacks, settings):
    from tests.videos_helpers import media_files

    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    assert media_files(settings)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/videos/{video.uuid}/").status_code == 204
    assert media_files(settings) == []
    assert not Video.objects.filter(pk=video.pk).exists()


def test_storyboard_sprite_has_a_tile_for_every_cue(api, uploader, media, django_capture_on_commit_callbacks):
    video = ready_video(api, uploader, media.hd(6), django_capture_on_commit_callbacks)
    cues = [line for line in (video.hls_dir / "storyboard.vtt").read_text().splitlines() if "#xywh=" in line]
    assert len(cues) == 3  # a frame every 2 s over 6 s
    # The ladder run's tiles, joined, stay beside it for a job that re-encodes only some chunks
    # (never served: tests/videos/test_delivery.py).
    assert len(list(video.hls_dir.glob("storyboard_*.jpg"))) == 3
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(video.hls_dir / "storyboard.jpg"),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    width = 160 * 3
    for cue in cues:
        x, y, w, h = map(int, cue.split("#xywh=")[1].split(","))
        tile = [raw[(y + row) * width + x + col] for row in range(0, h, 5) for col in range(0, w, 5)]
        assert sum(tile) / len(tile) > 40, f"tile {cue} is blank"
