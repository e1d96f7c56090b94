"""
The privacy tests' real media: a case whose middle 10 s show a real photograph with a face
(scikit-image's ``data.astronaut()``, shipped in its wheel) between stretches of reddish
"in-body" texture with a scope's vignette, and helpers that read a ladder's frames back.
"""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from privacy import classify
from tests.media import FFMPEG, ffmpeg
from tests.videos_helpers import ffmpeg_input, local_playlist

FACE_FROM, FACE_TO, LENGTH = 10, 20, 30


def _tissue(seconds: int, colour: str) -> str:
    return f"color=c={colour}:s=854x480:r=25:d={seconds},noise=alls=10:allf=t+u,vignette=angle=PI/3,format=yuv420p"


# The texture's grain is moderate on purpose: grain the ladder's bitrate cap cannot hold makes
# x264's rate control (VBV with frame threads) non-deterministic, so two encodes of the very
# same frames would differ and no SSIM would compare redaction with redaction alone.
# A 160×90 overlay in the top-left corner for the whole case, as an endoscopy tower burns in
# its own (what a mask is for).
def build_face_case(target: Path) -> Path:
    import imageio.v3 as iio
    from skimage import data

    target.parent.mkdir(parents=True, exist_ok=True)
    photo = target.with_suffix(".png")
    iio.imwrite(photo, data.astronaut())
    ffmpeg(
        "-f", "lavfi", "-i", _tissue(FACE_FROM, "0xB23A2E"),
        "-loop", "1", "-framerate", "25", "-t", str(FACE_TO - FACE_FROM), "-i", str(photo),
        "-f", "lavfi", "-i", _tissue(LENGTH - FACE_TO, "0xA8332A"),
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={LENGTH}",
        "-filter_complex",
        "[1:v]scale=-2:480,pad=854:480:(ow-iw)/2:0:color=0x202020,setsar=1,format=yuv420p[f];"
        "[0:v][f][2:v]concat=n=3:v=1:a=0[c];[4:v]format=yuv420p[o];[c][o]overlay=0:0:shortest=1[v]",
        "-f", "lavfi", "-i", f"testsrc2=s=160x90:r=25:d={LENGTH}",
        "-map", "[v]", "-map", "3:a",
        "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-c:a", "aac", "-b:a", "64k",
        "-t", str(LENGTH), str(target),
    )  # fmt: skip
    return target


@pytest.fixture(scope="session")
def face_case(tmp_path_factory):
    return build_face_case(tmp_path_factory.mktemp("privacy") / "face-case.mp4")


@pytest.fixture
def scanning(settings):
    """The privacy scan on (it is off for the other apps' tests), and no other publish rule in the way."""
    settings.PRIVACY_SCAN = True
    settings.PUBLISH_REQUIRED_FIELDS = []
    return settings


def frames(path: Path, *, start: float, end: float, fps: float = 1, width: int = 0) -> list[np.ndarray]:
    """RGB frames of ``path`` (a local playlist or a file) in ``[start, end)`` of its own timeline."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", *ffmpeg_input(path), "-select_streams", "v:0",
         "-show_entries", "stream=width,height", "-of", "csv=p=0"],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")[0]  # fmt: skip
    w, h = (int(v) for v in probe.split(","))
    if width:
        w, h = width, round(width * h / w / 2) * 2
    out = subprocess.run(
        [FFMPEG, "-v", "error", *ffmpeg_input(path), "-map", "0:v:0",
         "-vf", f"setpts=PTS-STARTPTS,trim=start={start}:end={end},fps={fps},scale={w}:{h}",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    size = w * h * 3
    return [np.frombuffer(out[i : i + size], np.uint8).reshape(h, w, 3) for i in range(0, len(out) - size + 1, size)]


def faces_in(path: Path, *, start: float, end: float) -> int:
    return sum(len(classify.faces(frame)) for frame in frames(path, start=start, end=end))


def keep_copy(video, rung: str, target: Path) -> Path:
    """A lossless copy of ``rung`` as it is served now (the ladder is replaced by a reprocess)."""
    ffmpeg(*ffmpeg_input(local_playlist(video, rung)), "-map", "0:v:0", "-c:v", "ffv1", str(target))
    return target


def ssim(a: Path, b: Path, *, start: float, end: float) -> float:
    """FFmpeg's SSIM (All) of ``a`` and ``b`` over ``[start, end)`` of each one's timeline."""
    graph = (
        f"[0:v]setpts=PTS-STARTPTS,trim=start={start}:end={end},setpts=PTS-STARTPTS[a];"
        f"[1:v]setpts=PTS-STARTPTS,trim=start={start}:end={end},setpts=PTS-STARTPTS[b];[a][b]ssim"
    )
    done = subprocess.run(
        [FFMPEG, "-hide_banner", *ffmpeg_input(a), *ffmpeg_input(b), "-lavfi", graph, "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(re.search(r"All:([\d.]+)", done.stderr).group(1))


def seconds_of(path: Path) -> float:
    """The picture's length: frames counted over the frame rate (ffprobe -count_frames)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", *ffmpeg_input(path), "-select_streams", "v:0", "-count_frames",
         "-show_entries", "stream=nb_read_frames,r_frame_rate", "-of", "csv=p=0"],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")[0]  # fmt: skip
    rate, count = out.split(",")
    num, den = rate.split("/")
    return int(count) / (int(num) / int(den))


@pytest.fixture
def flagged(uploader):
    """``flagged(**video_fields)``: a processed video of ``uploader`` whose scan flagged 0:00:10–0:00:20 and 0:01:05–0:01:10."""
    from privacy.models import PrivacyRange, PrivacyScan
    from tests.factories import VideoFactory

    def make(**fields):
        fields.setdefault("uploader", uploader)
        fields.setdefault("status", "processed")
        video = VideoFactory(**fields)
        scan = PrivacyScan.objects.create(video=video, status="flagged")
        PrivacyRange.objects.create(scan=scan, start=10, end=20, kinds=["face"], confidence=0.9)
        PrivacyRange.objects.create(scan=scan, start=65, end=70, kinds=["out_of_body"], confidence=0.7)
        return video

    return make
