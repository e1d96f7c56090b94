"""
Where the library's files live under ``MEDIA_ROOT``, written once. Nothing here is served by
path (DESIGN §6.3): delivery.py sends files only after checking a signed token.

::

    originals/<video uuid>.<ext>       the uploaded recordings (``Video.original_path``, relative)
    originals/.mezzanine-<token>.mkv   an MPEG-TS original remuxed for the job ``token`` while it runs
    hls/<video uuid>/                  a video's ladder, poster and storyboard
    hls/.work-<video uuid>-<token8>/   a transcoding job's ladder until it replaces the one above
    uploads/<upload id>.part           resumable (tus) uploads in progress
    tmp/                               multipart bodies being received

Every folder is on the same disk, so storing a received file or swapping in a ladder is a
rename, never a copy.
"""

import uuid
from pathlib import Path

from django.conf import settings

HLS = "hls"


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _made(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def originals_dir() -> Path:
    """The uploaded recordings (created if missing)."""
    return _made(media_root() / "originals")


def mezzanine_file(token: uuid.UUID) -> Path:
    """
    The transcoding job ``token``'s continuous, indexed copy of an MPEG-TS original
    (``transcoding.mezzanine_command``): beside the originals, never replacing one, removed
    when the job ends.
    """
    return originals_dir() / f".mezzanine-{token.hex}.mkv"


def hls_relative(video_uuid, *parts: str) -> str:
    """``hls/<uuid>/<parts>`` relative to ``MEDIA_ROOT`` (what nginx's X-Accel-Redirect is given)."""
    return "/".join((HLS, str(video_uuid), *parts))


def hls_dir(video_uuid) -> Path:
    """A video's published ladder, poster and storyboard."""
    return media_root() / hls_relative(video_uuid)


def work_dir(video_uuid, token: uuid.UUID) -> Path:
    """Where the job holding ``token`` builds its ladder before the swap (beside ``hls_dir``, never served)."""
    return media_root() / HLS / f".work-{video_uuid}-{token.hex[:8]}"


def uploads_dir() -> Path:
    """Resumable uploads in progress (created if missing)."""
    return _made(media_root() / "uploads")


def upload_file(upload_id) -> Path:
    """The bytes of the resumable upload ``upload_id`` received so far."""
    return media_root() / "uploads" / f"{upload_id}.part"


def tmp_dir() -> Path:
    """Multipart bodies being received (created if missing)."""
    return _made(media_root() / "tmp")
