"""
Protected delivery (DESIGN §6.4): signed tokens, playlist rewriting and file responses.

The master playlist is fetched with a session or a JWT (one database check). Every URI in
what we return — variant playlists, segments, the key — carries a short HMAC token bound
to the user, the video and a scope, so segments and variant playlists are authorised
without touching the database, and plain HLS clients (Safari, ffmpeg) that cannot add
headers still play.

Token: ``<user id>.<issued ms>.<expires>.<stamp tag>.<signature>``, signature =
HMAC-SHA256(secret, scope|video|user|issued|expires|tag). Scopes: ``media`` (variant
playlists, segments), ``key``, ``image`` (poster, storyboard) and ``master`` (a shareable
master URL for plain clients). A segment token does not open the key.

Revocation (issue #12):
- ``master`` and ``key`` tokens carry the user's stamp tag (``stamp_tag``, derived from
  ``User.security_stamp``, the value JWTs carry). Their views read the user anyway and refuse
  a tag that no longer matches: a password change, "sign out everywhere", a role change,
  deactivation or a lost approval ends them at once. ``media`` tokens carry the tag only to
  pass it on to the key URIs of the variant playlists they open.
- Every scope is refused once the video was withdrawn, or the user's tokens revoked, after
  the token was issued (``videos.revocation``: no query per request, at most
  ``MEDIA_REVOCATION_REFRESH_SECONDS`` late in other processes).
"""

import base64
import hashlib
import hmac
import mimetypes
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse

from . import revocation, storage

SCOPES = {"media", "key", "image", "master"}
# A video rung ("720p") or the audio rendition ("audio", videos.transcoding.AUDIO).
RUNG_NAME = re.compile(r"^(?:\d{3,4}p|audio)$")
SEGMENT_NAME = re.compile(r"^seg_\d{5}\.ts$")
IMAGE_FILES = {"poster.jpg": "image/jpeg", "storyboard.jpg": "image/jpeg", "storyboard.vtt": "text/vtt"}
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
_TAG = re.compile(r"^[0-9a-f]{0,16}$")


def _secret() -> bytes:
    return hashlib.sha256(b"svl-media-token|" + settings.SECRET_KEY.encode()).digest()


def _signature(scope: str, video_uuid: str, user_id: int, issued: int, expires: int, tag: str) -> str:
    message = f"{scope}|{video_uuid}|{user_id}|{issued}|{expires}|{tag}".encode()
    digest = hmac.new(_secret(), message, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def stamp_tag(user) -> str:
    """
    A short piece of ``user.security_stamp()`` for media tokens: it changes whenever the
    stamp does, so a ``master`` or ``key`` token stops matching. The stamp is already an
    HMAC (and travels in every JWT), so showing 64 bits of it reveals nothing.
    """
    return user.security_stamp()[:16]


def sign(*, scope: str, video_uuid, user_id: int, ttl: int, tag: str = "", parent: "Grant | None" = None) -> str:
    """
    A token for ``scope``. One minted from another (``parent``: the key URIs of a variant
    playlist, the sprite of a storyboard) keeps the parent's issue time and expires no later,
    so revoking the parent revokes it too, even one minted in the moments before this process
    learnt of the revocation.
    """
    now = time.time()
    # Milliseconds: a page loaded just after a revocation must not look older than it.
    issued = parent.issued if parent is not None else int(now * 1000)
    expires = int(now) + min(int(ttl), settings.MEDIA_TOKEN_MAX_SECONDS)
    if parent is not None:
        expires = min(expires, parent.expires)
    signature = _signature(scope, str(video_uuid), user_id, issued, expires, tag)
    return f"{user_id}.{issued}.{expires}.{tag}.{signature}"


@dataclass(frozen=True)
class Grant:
    user_id: int
    issued: int  # epoch milliseconds
    expires: int  # epoch seconds
    tag: str


def verify(token: str | None, *, scope: str, video_uuid) -> Grant | None:
    """
    The grant a token carries for ``scope`` on this video, or None if it is forged, foreign,
    expired or revoked (the video withdrawn or the user's tokens revoked since it was issued).
    The stamp tag is *not* compared here (that needs the user's row): see ``grant_matches``.
    """
    try:
        user_part, issued_part, expires_part, tag, signature = (token or "").split(".", 4)
        user_id, issued, expires = int(user_part), int(issued_part), int(expires_part)
    except ValueError:
        return None
    if expires < time.time() or not _TAG.match(tag):
        return None
    expected = _signature(scope, str(video_uuid), user_id, issued, expires, tag)
    if not hmac.compare_digest(expected, signature):
        return None
    if revocation.is_revoked(video_uuid=video_uuid, user_id=user_id, issued=issued):
        return None
    return Grant(user_id=user_id, issued=issued, expires=expires, tag=tag)


def grant_matches(grant: Grant, user) -> bool:
    """Whether ``user`` (the grant's, freshly read) still has the stamp the token was signed with."""
    return user.pk == grant.user_id and hmac.compare_digest(grant.tag, stamp_tag(user))


def media_ttl(duration: float) -> int:
    """Long enough to watch the whole video, with a margin for pauses."""
    return min(int(duration) + settings.HLS_TOKEN_MARGIN_SECONDS, settings.MEDIA_TOKEN_MAX_SECONDS)


# ------------------------------------------------------------------------------ URLs


def _url(url_name: str, video_uuid, token: str, **kwargs) -> str:
    return reverse(url_name, kwargs={"video_uuid": video_uuid, **kwargs}) + "?" + urlencode({"token": token})


def master_url(video, user) -> str:
    """A master playlist URL any HLS client can open (valid for the video's length + margin)."""
    token = sign(
        scope="master", video_uuid=video.uuid, user_id=user.pk, ttl=media_ttl(video.duration), tag=stamp_tag(user)
    )
    return _url("api:hls_master", video.uuid, token)


def image_url(video_uuid, user_id: int, name: str = "poster.jpg", *, parent: "Grant | None" = None) -> str:
    """A signed poster or storyboard URL: a grid of cards costs no query per image."""
    token = sign(scope="image", video_uuid=video_uuid, user_id=user_id, ttl=settings.IMAGE_TOKEN_SECONDS, parent=parent)
    return _url("api:video_image", video_uuid, token, name=name)


def attach_poster_urls(videos, user) -> list:
    """Give each video the signed ``poster_url`` its card shows (HMAC only, no query per image)."""
    videos = list(videos)
    for video in videos:
        video.poster_url = image_url(video.uuid, user.pk) if video.has_poster else ""
    return videos


# ------------------------------------------------------------------------------ playlists


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        raise Http404("Not found") from None


_KEY_LINE = re.compile(r'URI="[^"]*"')


def master_playlist(video, user) -> str:
    """The master playlist with each variant URI signed for ``user``."""
    token = sign(
        scope="media", video_uuid=video.uuid, user_id=user.pk, ttl=media_ttl(video.duration), tag=stamp_tag(user)
    )
    lines = []
    for line in _read(video.hls_dir / "master.m3u8").splitlines():
        if line.startswith("#EXT-X-MEDIA:"):
            # The audio rendition's playlist is named in an attribute, not on a line of its own.
            uri = _KEY_LINE.search(line)
            rung = uri.group(0)[5:-1].split("/", 1)[0] if uri else ""
            if not RUNG_NAME.match(rung):
                continue
            line = _KEY_LINE.sub(f'URI="{_url("api:hls_variant", video.uuid, token, rung=rung)}"', line)
        elif line and not line.startswith("#"):
            rung = line.split("/", 1)[0]
            if not RUNG_NAME.match(rung):
                continue
            line = _url("api:hls_variant", video.uuid, token, rung=rung)
        lines.append(line)
    return "\n".join(lines) + "\n"


def variant_playlist(*, video_uuid, rung: str, grant: Grant, media_token: str) -> str:
    """A variant playlist with signed segment URIs and a signed key URI (scope ``key``)."""
    if not RUNG_NAME.match(rung):
        raise Http404("Not found")
    hls_dir = storage.hls_dir(video_uuid)
    key_token = sign(
        scope="key",
        video_uuid=video_uuid,
        user_id=grant.user_id,
        ttl=grant.expires - int(time.time()),
        tag=grant.tag,
        parent=grant,
    )
    key_uri = _url("api:hls_key", video_uuid, key_token)
    lines = []
    for line in _read(hls_dir / rung / "index.m3u8").splitlines():
        if line.startswith("#EXT-X-KEY"):
            line = _KEY_LINE.sub(f'URI="{key_uri}"', line)
        elif line and not line.startswith("#"):
            if not SEGMENT_NAME.match(line):
                continue
            line = _url("api:hls_segment", video_uuid, media_token, rung=rung, segment=line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def playlist_response(text: str) -> HttpResponse:
    response = HttpResponse(text, content_type=PLAYLIST_TYPE)
    # Per user (the tokens), so never shared by caches.
    response["Cache-Control"] = "private, no-cache"
    return response


# ------------------------------------------------------------------------------ files


def file_response(relative: str, *, content_type: str | None = None, cache: str = "private, max-age=86400"):
    """
    Send ``MEDIA_ROOT/relative``: via nginx (X-Accel-Redirect) when configured, else a
    streamed FileResponse. ``relative`` is built from validated parts only.
    """
    path = storage.media_root() / relative
    if not path.is_file():
        raise Http404("Not found")
    content_type = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if settings.MEDIA_ACCEL_REDIRECT_PREFIX:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_REDIRECT_PREFIX.rstrip("/") + "/" + relative
    else:
        response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115 (closed by Django)
    response["Cache-Control"] = cache
    response["X-Content-Type-Options"] = "nosniff"
    return response
