"""
Sample files for the tests: real media generated with FFmpeg (testsrc2 + sine) on first use
and cached for the session (tiny frames and a second or two keep the whole set fast), and
the smallest valid PDF.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"

# The smallest valid PDF: an ID document for registration.
TINY_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, stdin=subprocess.DEVNULL)


def clip(
    target: Path,
    *,
    size: str = "320x180",
    seconds: float = 2,
    rate: int = 25,
    audio: bool = True,
    extra: tuple[str, ...] = (),
    codec: tuple[str, ...] = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
) -> Path:
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    ffmpeg(
        *inputs,
        "-t",
        str(seconds),
        *codec,
        *(["-c:a", "aac", "-b:a", "64k"] if audio else []),
        "-metadata",
        "title=Patient: John Doe MRN 12345",
        *extra,
        str(target),
    )
    return target


class MediaFactory:
    """Builds named sample files once per test session."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.cache: dict[str, Path] = {}

    def _make(self, name, build):
        if name not in self.cache:
            self.cache[name] = build(self.folder / name)
        return self.cache[name]

    def mp4(self):
        return self._make("clip.mp4", lambda p: clip(p))

    def other_mp4(self):
        return self._make("other.mp4", lambda p: clip(p, size="320x240", seconds=1.5))

    def no_audio(self):
        return self._make("silent.mp4", lambda p: clip(p, audio=False))

    def odd_size(self):
        return self._make("odd.mkv", lambda p: clip(p, size="1277x719", seconds=1, audio=False))

    def portrait(self):
        return self._make("portrait.mp4", lambda p: clip(p, size="360x640", seconds=1.5))

    def rotated(self):
        def build(path):
            source = clip(self.folder / "landscape-for-rotation.mp4", size="640x360", seconds=1.5)
            ffmpeg("-i", str(source), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
            return path

        return self._make("rotated.mov", build)

    def vfr(self):
        def build(path):
            ffmpeg(
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x180:rate=30",
                "-t",
                "2",
                "-vf",
                "setpts='if(lt(N,20),PTS,PTS*1.7)'",
                "-fps_mode",
                "vfr",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                str(path),
            )
            return path

        return self._make("vfr.mp4", build)

    def one_frame(self):
        return self._make("oneframe.mp4", lambda p: clip(p, seconds=0.04, audio=False))

    def tiny(self):
        return self._make(
            "tiny.webm",
            lambda p: clip(
                p,
                size="160x90",
                seconds=1,
                audio=False,
                codec=("-c:v", "libvpx", "-deadline", "realtime", "-b:v", "200k"),
            ),
        )

    def avi(self):
        return self._make("clip.avi", lambda p: clip(p, seconds=1, audio=False, codec=("-c:v", "mpeg4", "-q:v", "5")))

    def uhd(self):
        return self._make("uhd.mp4", lambda p: clip(p, size="3840x2160", seconds=10, rate=5, audio=True))

    def hd(self, seconds: float = 4):
        return self._make(f"hd-{seconds}.mp4", lambda p: clip(p, size="1280x720", seconds=seconds, rate=25))

    def audio_only(self):
        def build(path):
            ffmpeg("-f", "lavfi", "-i", "sine=frequency=440", "-t", "2", "-c:a", "aac", str(path))
            return path

        return self._make("audio.mp4", build)

    def truncated(self):
        """An MP4 whose moov atom (at the end) was never written: the recorder crashed."""

        def build(path):
            data = self.mp4().read_bytes()
            path.write_bytes(data[: len(data) // 2])
            return path

        return self._make("truncated.mp4", build)

    def png_as_mov(self):
        def build(path):
            ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", str(self.folder / "image.png"))
            shutil.copy(self.folder / "image.png", path)
            return path

        return self._make("image.mov", build)

    def text_as_mp4(self):
        def build(path):
            path.write_text("this is not a video\n" * 200)
            return path

        return self._make("notes.mp4", build)

    def playlist_as_mp4(self):
        """An HLS playlist pointing at a local file, renamed .mp4."""

        def build(path):
            path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{self.mp4()}\n#EXT-X-ENDLIST\n")
            return path

        return self._make("playlist.mp4", build)

    def concat_as_mp4(self):
        def build(path):
            path.write_text(f"ffconcat version 1.0\nfile '{self.mp4()}'\n")
            return path

        return self._make("concat.mp4", build)

    def empty(self):
        def build(path):
            path.write_bytes(b"")
            return path

        return self._make("empty.mp4", build)


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    return MediaFactory(tmp_path_factory.mktemp("media-samples"))
