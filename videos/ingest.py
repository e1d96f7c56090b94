"""
Receiving video files: the checks every upload passes (extension, libmagic sniff, size,
ffprobe) and a Django upload handler that streams a multipart file to disk while hashing it.

The checks run in the order of their cost; each failure raises ``ValidationError`` with a
message naming the rule, and the caller deletes whatever was received.
"""

import os
import re
import tempfile
import unicodedata
from pathlib import Path

import magic
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

from . import storage, transcoding
from .hashing import ResumableMD5, available, md5_of_file

# Container families: what libmagic may say for each allowed extension. MP4/MOV/M4V share
# the ISO base media format and recorders label them loosely; MKV and WebM share Matroska.
_ISO_BMFF = {"video/mp4", "video/quicktime", "video/x-m4v", "video/3gpp", "video/3gpp2", "application/mp4"}
_MATROSKA = {"video/x-matroska", "video/webm"}
SNIFF_TYPES = {
    "mp4": _ISO_BMFF,
    "mov": _ISO_BMFF,
    "m4v": _ISO_BMFF,
    "mkv": _MATROSKA,
    "webm": _MATROSKA,
    "avi": {"video/x-msvideo", "video/avi", "video/msvideo"},
    "ts": {"video/MP2T"},
    "m2ts": {"video/MP2T"},
    "mts": {"video/MP2T"},
}
SNIFF_BYTES = 2048
# MPEG-TS (SDI and endoscopy recorders): libmagic 5.44 names it only when the first packet is
# the PAT, which neither FFmpeg nor many recorders write first ("data", tech-notes §7), so the
# packet structure decides (``looks_like_mpegts``).
MPEG_TS_EXTENSIONS = {"ts", "m2ts", "mts"}


def extension_of(filename: str) -> str:
    name = os.path.basename(filename or "")
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def clean_name(filename: str) -> str:
    """
    A client's file name as we keep it (for display only, never as a path): the part after
    the last / or \\, printable characters only, at most 255. "", "." and ".." are refused.
    """
    name = re.split(r"[/\\]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable() and unicodedata.category(ch) not in ("Cf", "Cc")).strip()
    if name in ("", ".", ".."):
        raise ValidationError("Give the file a name.", code="name")
    return name[:255]


def check_name(filename: str) -> str:
    """The extension must be one of VIDEO_EXTENSIONS; returns it."""
    extension = extension_of(filename)
    if extension not in settings.VIDEO_EXTENSIONS:
        allowed = ", ".join(ext.upper() for ext in settings.VIDEO_EXTENSIONS)
        raise ValidationError(f"Files of this type are not accepted: upload {allowed}.", code="extension")
    return extension


def check_size(size: int) -> None:
    if size <= 0:
        raise ValidationError("The file is empty.", code="empty")
    if size > settings.VIDEO_MAX_UPLOAD_BYTES:
        gib = settings.VIDEO_MAX_UPLOAD_BYTES / 1024**3
        raise ValidationError(f"The file is larger than the {gib:g} GiB limit.", code="too_large")


def looks_like_mpegts(head: bytes) -> bool:
    """
    Whether ``head`` is MPEG-TS packets: the 0x47 sync byte every 188 bytes (.ts), or every 192
    after a 4-byte timecode (.m2ts, .mts), at least five packets running.
    """
    for size, offset in ((188, 0), (192, 4)):
        count = (len(head) - offset) // size
        if count >= 5 and all(head[offset + i * size] == 0x47 for i in range(count)):
            return True
    return False


def check_sniff(head: bytes, extension: str) -> None:
    """libmagic on the first bytes must agree with the extension (a PNG named .mov is refused)."""
    found = magic.from_buffer(head[:SNIFF_BYTES], mime=True)
    if extension in MPEG_TS_EXTENSIONS and looks_like_mpegts(head[:SNIFF_BYTES]):
        return
    if found not in SNIFF_TYPES.get(extension, set()):
        raise ValidationError(
            f"The file's content ({found}) is not a {extension.upper()} video.", code="content_mismatch"
        )


def check_limits(probe: transcoding.Probe) -> None:
    """
    The source must be within VIDEO_MAX_DURATION_SECONDS, VIDEO_MAX_WIDTH × VIDEO_MAX_HEIGHT
    and VIDEO_MAX_FRAME_RATE, so one upload cannot tie up the transcoder for days. The picture
    limits apply to the long and the short side: a portrait or rotated recording gets the same
    allowance as a landscape one.
    """
    limit = settings.VIDEO_MAX_DURATION_SECONDS
    if probe.duration > limit:
        raise ValidationError(
            f"The video is {_span(probe.duration, beside=limit)} long; the limit is {_span(limit)} "
            "(VIDEO_MAX_DURATION_SECONDS).",
            code="too_long",
        )
    picture = f"The picture is {probe.width}×{probe.height} pixels"
    if max(probe.width, probe.height) > settings.VIDEO_MAX_WIDTH:
        raise ValidationError(
            f"{picture}; its longer side may be at most {settings.VIDEO_MAX_WIDTH} pixels (VIDEO_MAX_WIDTH).",
            code="too_wide",
        )
    if min(probe.width, probe.height) > settings.VIDEO_MAX_HEIGHT:
        raise ValidationError(
            f"{picture}; its shorter side may be at most {settings.VIDEO_MAX_HEIGHT} pixels (VIDEO_MAX_HEIGHT).",
            code="too_high",
        )
    if probe.frame_rate > settings.VIDEO_MAX_FRAME_RATE:
        raise ValidationError(
            f"The video runs at {round(probe.frame_rate, 2):g} frames per second; the limit is "
            f"{settings.VIDEO_MAX_FRAME_RATE:g} (VIDEO_MAX_FRAME_RATE).",
            code="frame_rate",
        )


def _span(seconds: float, *, beside: float | None = None) -> str:
    """``7200`` → "2 hours", ``90`` → "1.5 minutes"; precise enough not to read the same as ``beside``."""
    unit, size = next(
        (unit, size) for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)) if seconds >= size or size == 1
    )
    for places in (1, 2, 3):
        value = round(seconds / size, places)
        if beside is None or value != round(beside / size, places):
            break
    return f"{value:g} {unit}{'' if value == 1 else 's'}"


def check_file(path: Path, filename: str) -> transcoding.Probe:
    """Run every check on a complete file and return its probe."""
    extension = check_name(filename)
    size = path.stat().st_size
    check_size(size)
    with open(path, "rb") as handle:
        check_sniff(handle.read(SNIFF_BYTES), extension)
    try:
        probe = transcoding.probe(path)
    except transcoding.MediaError as error:
        raise ValidationError(str(error), code="unreadable") from None
    check_limits(probe)
    try:
        transcoding.check_complete(path, probe)
    except transcoding.TruncatedMedia as error:
        raise ValidationError(str(error), code="truncated") from None
    return probe


class HashedTemporaryUploadedFile(UploadedFile):
    """A multipart file streamed to ``MEDIA_ROOT/tmp`` with its MD5 computed on the way."""

    def __init__(self, name, content_type, charset, content_type_extra=None):
        # Closed by Django with the request (or by discard()); deleted once consumed.
        handle = tempfile.NamedTemporaryFile(suffix=".upload", dir=storage.tmp_dir(), delete=False)  # noqa: SIM115
        super().__init__(handle, name, content_type, 0, charset, content_type_extra)
        self.md5 = ""

    def temporary_file_path(self):
        return self.file.name

    def close(self):
        try:
            return self.file.close()
        except FileNotFoundError:
            pass

    def discard(self):
        self.close()
        Path(self.file.name).unlink(missing_ok=True)


class HashingUploadHandler(FileUploadHandler):
    """
    Streams the ``file`` field to disk (never into memory) with a running MD5, and stops the
    upload as soon as it passes ``VIDEO_MAX_UPLOAD_BYTES``.

    Nothing is written before ``admit(user, length)`` has accepted the sender (the upload
    permission, free space, quota: ``videos.services.uploads.upload_admit``), and only one part, named
    ``file``, is ever written: every other file part is skipped unread. A refusal is kept as
    ``request.upload_refusal`` for the view to raise. Every temporary file made is listed in
    ``request.received_files``, so the view deletes them all whatever the outcome.
    """

    def __init__(self, request=None, *, admit):
        super().__init__(request)
        self.admit = admit
        self.body_length = 0
        request.received_files = []
        request.upload_refusal = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.body_length = content_length or 0

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        if field_name != "file" or self.request.received_files or self.request.upload_refusal is not None:
            raise SkipFile
        try:
            self.admit(getattr(self.request, "user", None), self.body_length)
        except Exception as refusal:  # noqa: BLE001 (kept whole; the view raises it)
            self.request.upload_refusal = refusal
            raise SkipFile from None
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self.file = HashedTemporaryUploadedFile(
            self.file_name, self.content_type, self.charset, self.content_type_extra
        )
        self.request.received_files.append(self.file)
        self.digest = ResumableMD5() if available() else None
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.VIDEO_MAX_UPLOAD_BYTES:
            self.file.discard()
            self.request.upload_too_large = True
            # Read (and drop) the rest so the client gets our 400; nginx caps bodies first.
            raise StopUpload(connection_reset=False)
        if self.digest is not None:
            self.digest.update(raw_data)
        try:
            self.file.write(raw_data)
        except OSError as error:
            self.file.discard()
            self.request.upload_refusal = error
            raise StopUpload(connection_reset=False) from None
        return None

    def file_complete(self, file_size):
        self.file.flush()
        self.file.seek(0)
        self.file.size = file_size
        self.file.md5 = self.digest.hexdigest() if self.digest is not None else md5_of_file(self.file.name)
        return self.file


def discard_received(request) -> None:
    """Delete every temporary file a multipart request left (a stored video's was moved away already)."""
    for received in getattr(request, "received_files", ()):
        received.discard()
