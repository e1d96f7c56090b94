"""
Writes on the library: watch progress (resume across devices), views and viewing sessions,
favourites and playlists. Pages and the API call these functions; none takes the request
(the client address comes from ``core.context``, as the audit trail's does).
"""

import math
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from core.context import current_request
from core.network import client_ip
from videos.models import Video

from .models import Favorite, Playlist, PlaylistItem, ViewEvent, WatchProgress


def _number(value, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({field: "Must be a number of seconds."}) from None
    if not math.isfinite(number) or number < 0:
        raise ValidationError({field: "Must be zero or more seconds."})
    return number


# ------------------------------------------------------------------------------ views


def view_record(*, user, video: Video) -> tuple[ViewEvent, bool]:
    """
    Note that ``user`` started playing ``video`` (called by the player when playback starts,
    never on a page or playlist fetch). Within ``VIEW_WINDOW_HOURS`` of the last activity the
    same session continues and nothing is counted; otherwise a new session starts, from the
    current request's client address (none in a job), and the video's view count goes up by
    one (an UPDATE, so no lost increments). Returns the session and whether it is new.
    """
    now = timezone.now()
    window = now - timedelta(hours=settings.VIEW_WINDOW_HOURS)
    with transaction.atomic():
        current = (
            ViewEvent.objects.filter(user=user, video=video, last_seen_at__gte=window).order_by("-last_seen_at").first()
        )
        if current is not None:
            ViewEvent.objects.filter(pk=current.pk).update(last_seen_at=now)
            return current, False
        request = current_request()
        event = ViewEvent.objects.create(
            user=user,
            video=video,
            started_at=now,
            last_seen_at=now,
            ip_address=client_ip(request) if request is not None else None,
        )
        Video.objects.filter(pk=video.pk).update(views=F("views") + 1)
    return event, True


# ------------------------------------------------------------------------------ progress


def progress_save(*, user, video: Video, position, duration=None) -> WatchProgress | None:
    """
    Save where ``user`` is in ``video`` (Jellyfin's rules): positions in the first
    ``RESUME_MIN_PERCENT`` are not worth resuming and clear the bookmark; from
    ``RESUME_MAX_PERCENT`` on the video counts as completed and the next play starts over.
    Returns the saved row, or None when nothing is kept.
    """
    position = _number(position, "position")
    duration = _number(duration, "duration") if duration not in (None, "") else 0.0
    duration = duration or video.duration
    if duration <= 0:
        raise ValidationError({"duration": "The video's duration is unknown; send it."})
    if position > duration + 5:
        raise ValidationError({"position": "The position is past the end of the video."})
    position = min(position, duration)
    percent = position / duration * 100
    now = timezone.now()
    with transaction.atomic():
        existing = WatchProgress.objects.select_for_update().filter(user=user, video=video).first()
        _extend_session(user=user, video=video, existing=existing, position=position, now=now)
        if percent < settings.RESUME_MIN_PERCENT and not (existing and existing.completed):
            if existing is not None:
                # Started again from the beginning: keep the history row, drop the bookmark.
                existing.position, existing.updated_at = 0, now
                existing.save(update_fields=["position", "updated_at"])
                return existing
            return None
        completed = percent >= settings.RESUME_MAX_PERCENT
        values = {
            "position": 0 if completed else position,
            "duration": duration,
            "completed": completed,
            "updated_at": now,
        }
        if existing is None:
            return WatchProgress.objects.create(user=user, video=video, first_watched_at=now, **values)
        for field, value in values.items():
            setattr(existing, field, value)
        existing.save(update_fields=list(values))
        return existing


def _extend_session(*, user, video, existing, position: float, now) -> None:
    """Add the time watched since the last save to the current viewing session."""
    session = ViewEvent.objects.filter(user=user, video=video).order_by("-last_seen_at").first()
    if session is None or session.last_seen_at < now - timedelta(hours=settings.VIEW_WINDOW_HOURS):
        return
    elapsed = (now - session.last_seen_at).total_seconds()
    moved = abs(position - (existing.position if existing else 0))
    # Never more than the wall-clock time since the last save (seeking is not watching).
    gained = min(elapsed, moved, 120.0)
    ViewEvent.objects.filter(pk=session.pk).update(last_seen_at=now, seconds_watched=F("seconds_watched") + gained)


@transaction.atomic
def history_remove(*, user, video_id: int) -> bool:
    deleted, _ = WatchProgress.objects.filter(user=user, video_id=video_id).delete()
    return bool(deleted)


@transaction.atomic
def history_clear(*, user) -> int:
    deleted, _ = WatchProgress.objects.filter(user=user).delete()
    return deleted


# ------------------------------------------------------------------------------ favourites


def favorite_set(*, user, video: Video) -> Favorite:
    """Idempotent: favouriting twice keeps the first date."""
    try:
        with transaction.atomic():
            favorite, _ = Favorite.objects.get_or_create(user=user, video=video)
    except IntegrityError:  # two clicks racing
        favorite = Favorite.objects.get(user=user, video=video)
    return favorite


def favorite_unset(*, user, video: Video) -> None:
    Favorite.objects.filter(user=user, video=video).delete()


# ------------------------------------------------------------------------------ playlists


def _check_playlist_fields(*, user, title=None, is_shared=None) -> dict:
    errors = {}
    if title is not None and not str(title).strip():
        errors["title"] = "A title is required."
    if is_shared and not user.has_perm("library.share_playlist"):
        errors["is_shared"] = "Your role may keep playlists private only (sharing needs the Uploader role)."
    if errors:
        raise ValidationError(errors)
    return {}


@transaction.atomic
def playlist_create(*, user, title: str, description: str = "", is_shared: bool = False) -> Playlist:
    if not user.has_perm("library.add_playlist"):
        raise PermissionDenied("Your account has no role that may keep playlists. Ask an administrator.")
    _check_playlist_fields(user=user, title=title, is_shared=is_shared)
    return Playlist.objects.create(
        owner=user, title=title.strip()[:200], description=description or "", is_shared=is_shared
    )


@transaction.atomic
def playlist_update(*, user, playlist: Playlist, **changes) -> Playlist:
    if not playlist.can_edit(user):
        raise PermissionDenied("Only the owner may change this playlist.")
    _check_playlist_fields(user=user, title=changes.get("title"), is_shared=changes.get("is_shared"))
    fields = []
    for field in ("title", "description", "is_shared"):
        if field in changes:
            value = changes[field]
            setattr(playlist, field, value.strip()[:200] if field == "title" else value)
            fields.append(field)
    if fields:
        playlist.save(update_fields=[*fields, "updated_at"])
    return playlist


@transaction.atomic
def playlist_delete(*, user, playlist: Playlist) -> None:
    if not playlist.can_edit(user):
        raise PermissionDenied("Only the owner may delete this playlist.")
    playlist.delete()


@transaction.atomic
def playlist_item_add(
    *, user, playlist: Playlist, video: Video, start_time=None, end_time=None, note: str = ""
) -> PlaylistItem:
    """Append a video (or a stretch of it) the user may watch; unplayable videos are refused."""
    if not playlist.can_edit(user):
        raise PermissionDenied("Only the owner may change this playlist.")
    if not Video.objects.visible_to(user).playable().filter(pk=video.pk).exists():
        raise ValidationError({"video": "This video cannot be added: it is not ready to play or not visible to you."})
    start = _number(start_time, "start_time") if start_time not in (None, "") else None
    end = _number(end_time, "end_time") if end_time not in (None, "") else None
    if end is not None and end > video.duration + 1:
        raise ValidationError({"end_time": "The end is past the end of the video."})
    if start is not None and end is not None and end <= start:
        raise ValidationError({"end_time": "The end must come after the start."})
    Playlist.objects.select_for_update().filter(pk=playlist.pk).first()  # serialise appends
    last = playlist.items.aggregate(last=Max("position"))["last"]
    item = PlaylistItem.objects.create(
        playlist=playlist,
        video=video,
        position=0 if last is None else last + 1,
        start_time=start,
        end_time=end,
        note=(note or "")[:300],
    )
    Playlist.objects.filter(pk=playlist.pk).update(updated_at=timezone.now())
    return item


@transaction.atomic
def playlist_item_remove(*, user, item: PlaylistItem) -> None:
    if not item.playlist.can_edit(user):
        raise PermissionDenied("Only the owner may change this playlist.")
    playlist = item.playlist
    item.delete()
    _renumber(playlist, list(playlist.items.order_by("position", "id").values_list("pk", flat=True)))


@transaction.atomic
def playlist_reorder(*, user, playlist: Playlist, order: list[int]) -> None:
    """Set the whole order at once (every item id exactly once), so pages never disagree."""
    if not playlist.can_edit(user):
        raise PermissionDenied("Only the owner may change this playlist.")
    Playlist.objects.select_for_update().filter(pk=playlist.pk).first()
    current = set(playlist.items.values_list("pk", flat=True))
    if len(order) != len(set(order)) or set(order) != current:
        raise ValidationError({"order": "Give every item id of the playlist exactly once."})
    _renumber(playlist, order)


def _renumber(playlist: Playlist, order: list[int]) -> None:
    items = {item.pk: item for item in playlist.items.all()}
    for position, pk in enumerate(order):
        items[pk].position = position
    PlaylistItem.objects.bulk_update(items.values(), ["position"])
    Playlist.objects.filter(pk=playlist.pk).update(updated_at=timezone.now())
