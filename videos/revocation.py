"""
Withdrawn media: every signed media URL issued before a video was withdrawn, or before a
user's tokens were revoked, stops working within ``MEDIA_REVOCATION_REFRESH_SECONDS``.

Segments, variant playlists and images are authorised by their signed token alone, so a
frame of an archived case (or of any case, for a deactivated account) would otherwise stay
reachable until its token expires (hours). Checking the database per request would cost the
fast path its speed; instead each process keeps a snapshot of the recent revocations and
reloads it at most every ``MEDIA_REVOCATION_REFRESH_SECONDS`` (two small indexed queries).
A token is void when it was issued before the revocation of its video or of its user; new
tokens are signed only for people who may still see the video, so a withdrawal never needs
to be undone.

The sources are two timestamps kept on the rows themselves: ``Video.media_revoked_at``
(set when a video stops being published, see ``videos.services``) and
``User.tokens_revoked_at`` (set by ``accounts.services.tokens_revoke``, which runs whenever
the security stamp changes: password, roles, deactivation, lock, "sign out everywhere").
Only revocations younger than the longest token lifetime (``MEDIA_TOKEN_MAX_SECONDS``)
matter, so the snapshot stays small.
"""

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone


@dataclass(frozen=True)
class _Snapshot:
    loaded_at: float = float("-inf")  # time.monotonic() of the load
    videos: dict[str, float] = field(default_factory=dict)  # uuid -> revoked at (epoch milliseconds)
    users: dict[int, float] = field(default_factory=dict)  # user id -> revoked at (epoch milliseconds)


_snapshot = _Snapshot()
_lock = threading.Lock()


def is_revoked(*, video_uuid, user_id: int, issued: int) -> bool:
    """Whether a token issued at ``issued`` (epoch milliseconds) for this video and user is void."""
    snapshot = _current()
    video_revoked = snapshot.videos.get(str(video_uuid))
    user_revoked = snapshot.users.get(user_id)
    # Nodes' clocks must agree (NTP): a token signed on a node whose clock lags by more than
    # the time between a revocation and the next page load would be refused until it catches up.
    return (video_revoked is not None and issued < video_revoked) or (
        user_revoked is not None and issued < user_revoked
    )


def forget() -> None:
    """Drop this process's snapshot: the next check reloads it (after a local revocation, and in tests)."""
    global _snapshot
    _snapshot = _Snapshot()


def after_commit_forget(**kwargs) -> None:
    """
    Make this process see a revocation at once: now (for this connection, which sees the
    uncommitted row) and again after commit (for the other threads of this process). Other
    processes see it within ``MEDIA_REVOCATION_REFRESH_SECONDS``. Connected to
    ``accounts.signals.tokens_revoked`` in ``videos.apps``.
    """
    forget()
    transaction.on_commit(forget)


def revoke_video(video_id: int, *, at: datetime | None = None) -> None:
    """Void every signed URL of the video issued until now (the video stopped being published)."""
    from .models import Video

    Video.objects.filter(pk=video_id).update(media_revoked_at=at or timezone.now())
    after_commit_forget()


def _current() -> _Snapshot:
    snapshot = _snapshot
    if time.monotonic() - snapshot.loaded_at < settings.MEDIA_REVOCATION_REFRESH_SECONDS:
        return snapshot
    with _lock:
        if _snapshot is not snapshot:  # another thread reloaded it meanwhile
            return _snapshot
        return _load()


def _load() -> _Snapshot:
    global _snapshot
    from .models import Video

    loaded_at = time.monotonic()
    cutoff = timezone.now() - timedelta(seconds=settings.MEDIA_TOKEN_MAX_SECONDS)
    videos = {
        str(uuid): revoked.timestamp() * 1000
        for uuid, revoked in Video.objects.filter(media_revoked_at__gte=cutoff).values_list("uuid", "media_revoked_at")
    }
    users = dict(
        (pk, revoked.timestamp() * 1000)
        for pk, revoked in get_user_model()
        .objects.filter(tokens_revoked_at__gte=cutoff)
        .values_list("pk", "tokens_revoked_at")
    )
    _snapshot = _Snapshot(loaded_at=loaded_at, videos=videos, users=users)
    return _snapshot
