"""
Caption files: reading WebVTT and SRT, writing WebVTT, and where they live under MEDIA_ROOT.
Pure functions, no ORM (like videos/transcoding.py for FFmpeg).

::

    captions/<video uuid>/<caption id>.vtt    a video's caption tracks (served only with a signed token)

A file that is not a caption file, or a cue that cannot be read, is a ``CaptionError`` naming
its line (1-based), which the API answers as a 400.
"""

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from videos import delivery, storage

CAPTIONS = "captions"
MAX_BYTES = 5 * 1024 * 1024
MAX_CUES = 20000
MAX_CUE_CHARS = 2000

_VTT_TIME = r"(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_SRT_TIME = r"(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{3})"
_VTT_TIMING = re.compile(rf"^{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t].*)?$")
_SRT_TIMING = re.compile(rf"^{_SRT_TIME}[ \t]*-->[ \t]*{_SRT_TIME}(?:[ \t].*)?$")
_TAG = re.compile(r"<[^>]*>")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": " ", "&lrm;": "", "&rlm;": ""}


class CaptionError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(f"Line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str  # as written in the file (WebVTT markup kept)

    @property
    def plain(self) -> str:
        """The words of the cue, without markup, on one line (what search and the transcript show)."""
        text = _TAG.sub("", self.text)
        for entity, char in _ENTITIES.items():
            text = text.replace(entity, char)
        return " ".join(text.split())


def _seconds(groups) -> float:
    hours, minutes, seconds, millis = groups
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise CaptionError(1, f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if b"\x00" in data:
        raise CaptionError(data[: data.index(b"\x00")].count(b"\n") + 1, "This is not a text file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CaptionError(data[: error.start].count(b"\n") + 1, "The file is not UTF-8 text.") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(data: bytes) -> list[Cue]:
    """The cues of a WebVTT or SRT file, in file order; ``CaptionError`` naming the line if it is neither."""
    lines = _decode(data).split("\n")
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise CaptionError(1, "The file is empty.")
    if lines[first].startswith("WEBVTT"):
        if first != 0 or not re.match(r"^WEBVTT(?:[ \t].*)?$", lines[0]):
            raise CaptionError(first + 1, "A WebVTT file starts with “WEBVTT”.")
        cues = _parse_blocks(lines, timing=_VTT_TIMING, webvtt=True)
    elif re.fullmatch(r"\d+", lines[first].strip()) or _SRT_TIMING.match(lines[first].strip()):
        cues = _parse_blocks(lines, timing=_SRT_TIMING, webvtt=False)
    else:
        raise CaptionError(first + 1, "This is not a WebVTT or SRT caption file.")
    if not cues:
        last = max(number for number, line in enumerate(lines, start=1) if line.strip())
        raise CaptionError(last, "The file has no cues.")
    return cues


def _blocks(lines: list[str]):
    """(first line number, [lines]) for each run of non-blank lines."""
    block, start = [], 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def _parse_blocks(lines: list[str], *, timing, webvtt: bool) -> list[Cue]:
    cues: list[Cue] = []
    for index, (number, block) in enumerate(_blocks(lines)):
        if webvtt and (index == 0 or re.match(r"^(NOTE|STYLE|REGION)(?:[ \t]|$)", block[0])):
            continue  # the header, comments, style and region definitions
        offset = 0
        if "-->" not in block[0]:
            if len(block) < 2 or "-->" not in block[1]:
                what = "a cue identifier then a timing line" if webvtt else "a cue number then a timing line"
                raise CaptionError(number, f"Expected {what} (00:00:01.000 --> 00:00:04.000).")
            if not webvtt and not re.fullmatch(r"\d+", block[0].strip()):
                raise CaptionError(number, "An SRT cue starts with its number.")
            offset = 1
        line_number = number + offset
        match = timing.match(block[offset].strip())
        if match is None:
            raise CaptionError(line_number, "Unreadable timing line (use 00:00:01.000 --> 00:00:04.000).")
        groups = match.groups()
        start, end = _seconds(groups[:4]), _seconds(groups[4:])
        if end <= start:
            raise CaptionError(line_number, "The cue ends before it starts.")
        text_lines = block[offset + 1 :]
        for n, text_line in enumerate(text_lines, start=line_number + 1):
            if "-->" in text_line:
                raise CaptionError(n, "A cue's text cannot contain “-->” (a missing blank line?).")
        text = "\n".join(line.rstrip() for line in text_lines)
        if len(text) > MAX_CUE_CHARS:
            raise CaptionError(line_number + 1, f"A cue's text is longer than {MAX_CUE_CHARS} characters.")
        cues.append(Cue(start=start, end=end, text=text))
        if len(cues) > MAX_CUES:
            raise CaptionError(line_number, f"More than {MAX_CUES} cues.")
    return sorted(cues, key=lambda cue: (cue.start, cue.end))


def timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def to_webvtt(cues: list[Cue]) -> str:
    parts = ["WEBVTT", ""]
    for cue in cues:
        parts += [f"{timestamp(cue.start)} --> {timestamp(cue.end)}", cue.text, ""]
    return "\n".join(parts)


# ------------------------------------------------------------------------------ files and links

# The token scope of caption files (videos.delivery signs and checks it; revoked with the video's media).
SCOPE = "caption"


def signed_url(video_uuid, caption_id: int, user_id: int) -> str:
    """A caption file's URL with a token for ``user_id`` (HMAC only, as posters): no query per track."""
    token = delivery.sign(scope=SCOPE, video_uuid=video_uuid, user_id=user_id, ttl=settings.IMAGE_TOKEN_SECONDS)
    url = reverse("api:caption_file", kwargs={"video_uuid": video_uuid, "caption_id": int(caption_id)})
    return url + "?" + urlencode({"token": token})


def relative_path(video_uuid, caption_id: int) -> str:
    """``captions/<uuid>/<id>.vtt`` relative to MEDIA_ROOT (what nginx's X-Accel-Redirect is given)."""
    return "/".join((CAPTIONS, str(video_uuid), f"{int(caption_id)}.vtt"))


def write(video_uuid, caption_id: int, text: str) -> Path:
    """Store a caption file whole or not at all (a temporary file renamed into place)."""
    path = storage.media_root() / relative_path(video_uuid, caption_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False) as handle:
        handle.write(text)
    os.replace(handle.name, path)
    return path


def remove(video_uuid, caption_id: int) -> None:
    (storage.media_root() / relative_path(video_uuid, caption_id)).unlink(missing_ok=True)
