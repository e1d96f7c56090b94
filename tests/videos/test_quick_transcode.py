"""
Quick transcode (issue #14 item 5): a source that already is what the top rung would be serves
its own H.264 stream as that rung, copied chunk by chunk instead of encoded, without a seam
between chunks or rungs; any other source is encoded as before.

TRANSCODE_COPY_COMPLIANT is off under tests (config/settings.py: the sample clips qualify, and
the tests that inject encoder failures would bypass the encoder); these tests turn it on.
"""

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from tests.media import ffmpeg
from tests.videos_helpers import decrypt, ffmpeg_input, local_playlist, upload
from videos import transcoding
from videos.models import TranscodeJob, Video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

RUNGS = ["480p", "360p"]


@pytest.fixture
def quick(settings):
    """The shortcut on; 6 s, then 12 s chunks: a 20 s source makes three."""
    settings.TRANSCODE_COPY_COMPLIANT = True
    settings.TRANSCODE_FIRST_CHUNK_SECONDS = 6
    settings.TRANSCODE_CHUNK_SECONDS = 12


def camera(path: Path, *keyframes: str) -> Path:
    """20 s of 854×480 at 29.97 fps, H.264 High with B-frames (x264 veryfast), and sound."""
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30000/1001",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", "20", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", *keyframes,
        "-c:a", "aac", "-b:a", "64k", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def compliant(tmp_path_factory) -> Path:
    """A keyframe on the first frame at or after every 2 s, as the ladder's own rungs have them."""
    folder = tmp_path_factory.mktemp("quick")
    return camera(folder / "compliant.mp4", "-force_key_frames", "expr:gte(t,n_forced*2)")


@pytest.fixture(scope="module")
def long_gops(tmp_path_factory) -> Path:
    """x264's own keyframes: every 250 frames (8.3 s), none at 2 s."""
    return camera(tmp_path_factory.mktemp("quick") / "long-gops.mp4", "-sc_threshold", "0")


def probe_json(path: Path, *args: str) -> dict:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", *args, *ffmpeg_input(path)],
        capture_output=True,
        check=True,
    )
    return json.loads(done.stdout)


def decoded_frames(path: Path) -> list[str]:
    """The MD5 of every decoded picture, in order (timestamps as they come)."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", *ffmpeg_input(path), "-map", "0:v:0",
         "-fps_mode", "passthrough", "-f", "framemd5", "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line.rsplit(",", 1)[1].strip() for line in done.splitlines() if line and not line.startswith("#")]


def peak_kbps(path: Path) -> int:
    """The most video bits in any 6 s of ``path`` (as the ladder's segments cut it), in kb/s, rounded up."""
    packets = probe_json(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,size")["packets"]
    windows: dict[int, int] = {}
    for packet in packets:
        window = int(float(packet["pts_time"]) // 6)
        windows[window] = windows.get(window, 0) + int(packet["size"]) * 8
    last = max(windows)
    return -(-max(bits / (6 if window < last else 20 - 6 * last) for window, bits in windows.items()) // 1000)


def test_a_compliant_source_is_its_own_top_rung_without_a_seam(
    uploader_api, compliant, quick, django_capture_on_commit_callbacks, tmp_path
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(uploader_api, compliant)
    video = Video.objects.get(uuid=response.json()["id"])
    assert video.status == "processed", video.failure_reason
    renditions = {r.name: r for r in video.renditions.all()}
    assert list(renditions) == RUNGS
    source = decoded_frames(compliant)
    assert len(source) == 599
    # The 480p rung is the source's own pictures, every one of them across both seams
    # (an encode, however good, would not decode to the same pixels); 360p is encoded.
    assert decoded_frames(local_playlist(video, "480p")) == source
    encoded = decoded_frames(local_playlist(video, "360p"))
    assert len(encoded) == len(source)
    # The same segments in both rungs, each starting on a keyframe: players switch at any of them.
    lists = {rung: transcoding.segments_of((video.hls_dir / rung / "index.m3u8").read_text()) for rung in RUNGS}
    assert lists["480p"] == lists["360p"]
    assert [round(duration, 3) for duration, _ in lists["480p"]] == [6.006, 6.006, 6.006, 1.969]
    for rung in RUNGS:
        for _, name in lists[rung]:
            clear = tmp_path / f"{rung}-{name}"
            clear.write_bytes(decrypt((video.hls_dir / rung / name).read_bytes(), bytes(video.hls_key), video.hls_iv))
            first = probe_json(
                clear, "-select_streams", "v:0", "-show_entries", "frame=key_frame", "-read_intervals", "%+#1"
            )
            assert first["frames"][0]["key_frame"] == 1, (rung, name)
    # The copied rung tells players what it is: the source's profile and level, and its real
    # peak as BANDWIDTH (as FFmpeg counts an encoded rung's: video and audio, plus 10 %).
    stream = probe_json(compliant, "-show_streams", "-select_streams", "v:0")["streams"][0]
    assert (stream["profile"], stream["level"]) == ("High", 31)
    assert renditions["480p"].codecs == "avc1.64001f,mp4a.40.2"
    assert renditions["480p"].bandwidth == int((peak_kbps(compliant) + 96) * 1000 * 1.1)
    master = (video.hls_dir / "master.m3u8").read_text()
    assert f'BANDWIDTH={renditions["480p"].bandwidth},RESOLUTION=854x480,CODECS="avc1.64001f,mp4a.40.2"' in master
    assert renditions["360p"].codecs == "avc1.640029,mp4a.40.2"


def plan_of(api, path: Path, capture) -> dict:
    """Upload ``path`` and run the planning task only: the job's plan."""
    with capture() as uploaded:
        response = upload(api, path)
    with capture():
        uploaded[0]()
    return TranscodeJob.objects.get(video__uuid=response.json()["id"]).plan


def test_a_source_is_encoded_unless_its_keyframes_fall_where_the_ladders_do(
    uploader_api, compliant, long_gops, quick, settings, django_capture_on_commit_callbacks
):
    assert plan_of(uploader_api, compliant, django_capture_on_commit_callbacks)["rungs"][0]["copy"] is True
    plan = plan_of(uploader_api, long_gops, django_capture_on_commit_callbacks)
    assert plan["rungs"][0]["copy"] is False and plan["copy"] is None
    # The setting turns it off.
    settings.TRANSCODE_COPY_COMPLIANT = False
    TranscodeJob.objects.all().delete()
    Video.objects.all().delete()
    assert plan_of(uploader_api, compliant, django_capture_on_commit_callbacks)["rungs"][0]["copy"] is False


# ------------------------------------------------------------------------------ the rule


def probe(**changes) -> transcoding.Probe:
    """A 1080p30 H.264 High@4.0 camera file, with ``changes``."""
    base = transcoding.Probe(
        "mov,mp4", 20, 1920, 1080, 0, "h264", "yuv420p", 30, "aac", profile="High", level=40, sample_aspect_ratio="1:1"
    )
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({}, None),
        ({"profile": "Main", "level": 41}, None),
        ({"video_codec": "hevc"}, "hevc is not H.264"),
        ({"pix_fmt": "yuv420p10le"}, "yuv420p10le is not 8-bit 4:2:0"),
        ({"pix_fmt": "yuvj420p"}, "yuvj420p is not 8-bit 4:2:0"),
        ({"profile": "High 4:2:2"}, "profile High 4:2:2"),
        ({"level": 42}, "level 4.2 is above the rung's 4.1"),
        ({"width": 2048, "height": 1152}, "the picture is not the top rung's size"),
        ({"rotation": 90, "width": 1080, "height": 1920}, "the picture is rotated"),
        ({"sample_aspect_ratio": "4:3"}, "the pixels are not square"),
        ({"interlace": "tff"}, "the picture is interlaced"),
        ({"nominal_rate": 30.0, "frame_rate": 21.0}, "the frame rate varies"),
    ],
)
def test_what_the_header_must_say_for_a_copy(changes, reason):
    source = probe(**changes)
    assert transcoding.copy_refusal(source, transcoding.plan_ladder(source)[0]) == reason


def scan(times, keyframes, *, open_gop=False, bits=None):
    return transcoding.PacketScan(
        times=times, keyframes=keyframes, open_gop=open_gop, segment_bits=bits or {0: 6 * 1_000_000}
    )


def test_what_the_packets_must_say_for_a_copy():
    source = probe(duration=10, frame_rate=30000 / 1001)
    top = transcoding.plan_ladder(source)[0]
    chunks = transcoding.plan_chunks(10, first=6, size=12)
    times = [n * 1001 / 30000 for n in range(300)]
    every_2s = [times[n] for n in (0, 60, 120, 180, 240)]  # the first frame at or after 0, 2, 4, 6, 8 s
    rung, cuts = transcoding.plan_copy(source, scan(times, every_2s), chunks, top)
    assert (rung.copy, rung.name, rung.level, rung.codecs) == (True, "1080p", "4.0", "avc1.640028")
    assert rung.maxrate_k == 1000  # 6 Mb in the 6 s segment
    # Each chunk from its keyframe (frame 180 is at 6.006 s), its frames counted.
    assert cuts == [transcoding.CopyCut(0.0, 180), transcoding.CopyCut(times[180], 120)]
    assert (
        transcoding.plan_copy(source, scan(times, every_2s[:2]), chunks, top)
        == "no keyframe at 4.0 s (the other rungs have one every 2 s)"
    )
    drifting = [times[n] for n in (0, 60, 120, 179, 240)]  # -g 60 at 29.97: 6 s falls after frame 179
    assert transcoding.plan_copy(source, scan(times, drifting), chunks, top).startswith("no keyframe at 6.0 s")
    assert transcoding.plan_copy(source, scan(times, every_2s, open_gop=True), chunks, top).startswith("open GOPs")
    dropped = times[:100] + times[101:]
    assert transcoding.plan_copy(source, scan(dropped, every_2s), chunks, top).startswith("its frames are not one per")
    assert transcoding.plan_copy(source, scan(times, every_2s, bits={0: 60_000_000}), chunks, top).startswith(
        "its peak of 10000 kb/s is above 1.5"
    )
