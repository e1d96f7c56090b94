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


def ready_video(api, uploader, path, capture, **metadata) -> Video:
    api.force_authenticate(uploader)
    response = upload(api, path, capture=capture, **metadata)
    assert response.status_code == 201, response.content
    return Video.objects.get(uuid=response.json()["id"])


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
