"""
A video's storyboard as pages read it: the WebVTT cues the transcode wrote
(``transcoding.storyboard_vtt``: a stretch of time → ``storyboard.jpg#xywh=x,y,w,h``), parsed
into frames a page can draw from the one sprite (the edit page's poster picker). No ORM, no
FFmpeg: a missing or unreadable file is no storyboard.
"""

import re
from dataclasses import dataclass
from pathlib import Path

_CUE = re.compile(r"^([\d:.]+) --> ([\d:.]+)\s*\n\S+#xywh=(\d+),(\d+),(\d+),(\d+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Frame:
    """One tile of the sprite: shown for ``[start, end)`` seconds, at ``x, y`` (``width`` × ``height``)."""

    start: float
    end: float
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Storyboard:
    frames: list[Frame]

    @property
    def sprite_width(self) -> int:
        return max(frame.x + frame.width for frame in self.frames)

    @property
    def sprite_height(self) -> int:
        return max(frame.y + frame.height for frame in self.frames)


def seconds(stamp: str) -> float:
    """``"01:02:03.500"`` or ``"02:03.500"`` → seconds."""
    total = 0.0
    for part in stamp.split(":"):
        total = total * 60 + float(part)
    return total


def parse(text: str) -> Storyboard | None:
    """The frames of a storyboard's WebVTT text, in time order; None when it has none."""
    frames = [
        Frame(seconds(m[1]), seconds(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6])) for m in _CUE.finditer(text)
    ]
    frames = [frame for frame in frames if frame.width and frame.height]
    return Storyboard(sorted(frames, key=lambda frame: frame.start)) if frames else None


def read(folder: Path) -> Storyboard | None:
    """The storyboard in a ladder's ``folder`` (``storyboard.vtt`` beside ``storyboard.jpg``), if there is one."""
    try:
        text = (folder / "storyboard.vtt").read_text()
    except (OSError, UnicodeDecodeError):
        return None
    return parse(text) if (folder / "storyboard.jpg").exists() else None
