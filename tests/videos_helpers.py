"""Helpers shared by the video tests."""

import re
import subprocess
from pathlib import Path

from videos.models import Video

VIDEOS = "/api/v1/videos/"


def upload(api, path: Path, *, name: str | None = None, capture=None, **metadata):
    """POST a real file as multipart; with ``capture`` the transcode job runs before returning."""
    with open(path, "rb") as handle:
        data = {"file": handle, **metadata}
        if name:
            from django.core.files.uploadedfile import SimpleUploadedFile

            data["file"] = SimpleUploadedFile(name, handle.read())
        if capture is not None:
            with capture(execute=True):
                return api.post(VIDEOS, data, format="multipart")
        return api.post(VIDEOS, data, format="multipart")


def publishable_metadata() -> dict:
    """
    What ``PUBLISH_REQUIRED_FIELDS`` asks by default (issue #15), as upload metadata: the
    category "General surgery", the surgeon "Dr Ready" and a date of surgery.
    """
    from videos.models import Category, Surgeon

    Category.objects.get_or_create(name="General surgery")
    surgeon, _ = Surgeon.objects.get_or_create(name="Dr Ready")
    return {"category": "General surgery", "surgeons": str(surgeon.pk), "date_of_surgery": "2026-11-02"}


def ready_video(api, uploader, path, capture, **metadata) -> Video:
    """
    ``path`` uploaded by ``uploader`` and transcoded by real FFmpeg. It carries what publishing
    needs (``publishable_metadata``) unless the test gives its own, or None to leave one out.
    """
    metadata = {name: value for name, value in {**publishable_metadata(), **metadata}.items() if value is not None}
    api.force_authenticate(uploader)
    response = upload(api, path, capture=capture, **metadata)
    assert response.status_code == 201, response.content
    return Video.objects.get(uuid=response.json()["id"])


def write_ladder(video: Video) -> None:
    """A small fake HLS ladder on disk: master, one rung, one segment, poster, storyboard, original."""
    root = video.hls_dir
    (root / "360p").mkdir(parents=True, exist_ok=True)
    (root / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=320x180\n360p/index.m3u8\n"
    )
    (root / "360p" / "index.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n"
        f'#EXT-X-KEY:METHOD=AES-128,URI="key.bin",IV=0x{video.hls_iv}\n'
        "#EXTINF:6.0,\nseg_00000.ts\n#EXT-X-ENDLIST\n"
    )
    (root / "360p" / "seg_00000.ts").write_bytes(b"SEGMENT-" + video.uuid.bytes)
    (root / "poster.jpg").write_bytes(b"\xff\xd8POSTER-" + video.uuid.bytes)
    (root / "storyboard.jpg").write_bytes(b"\xff\xd8SPRITE-" + video.uuid.bytes)
    (root / "storyboard.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:06.000\nstoryboard.jpg#xywh=0,0,160,90\n")
    original = video.original_file
    original.parent.mkdir(parents=True, exist_ok=True)
    original.write_bytes(b"ORIGINAL-" + video.uuid.bytes)


def media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def key_uri(playlist: str) -> str:
    return re.search(r'URI="([^"]+)"', playlist).group(1)


def iv_of(playlist: str) -> str:
    return re.search(r"IV=0x([0-9a-fA-F]{32})", playlist).group(1)


def decrypt(data: bytes, key: bytes, iv_hex: str) -> bytes:
    done = subprocess.run(
        ["openssl", "aes-128-cbc", "-d", "-K", key.hex(), "-iv", iv_hex], input=data, capture_output=True, check=True
    )
    return done.stdout


def local_playlist(video: Video, rung: str) -> Path:
    """
    ``rung``'s playlist (or "audio") as FFmpeg can read it from disk: the key from a file instead
    of the signed URL. Open it with ``ffmpeg_input`` (a key file has no media extension).
    """
    key = video.hls_dir / "key-for-test.bin"
    key.write_bytes(bytes(video.hls_key))
    text = (video.hls_dir / rung / "index.m3u8").read_text()
    local = video.hls_dir / rung / "local.m3u8"
    local.write_text(text.replace('URI="key.bin"', f'URI="{key}"'))
    return local


def ffmpeg_input(path: Path) -> list[str]:
    """FFmpeg's (and ffprobe's) input options for ``path``, a local playlist or a media file."""
    return ["-allowed_extensions", "ALL", "-i", str(path)] if path.suffix == ".m3u8" else ["-i", str(path)]
