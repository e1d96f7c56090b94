"""
Choosing a video's poster (issue #15): its owner or an Editor picks the moment (a storyboard
frame's time, or any time) and the poster is taken again at that moment from what the
transcode reads (the original, or privacy's redacted recording).
Apps above may refuse a moment (``register_poster_check``; privacy: a flagged range).
"""

import math
import os
from collections.abc import Callable

from django.core.exceptions import PermissionDenied, ValidationError

from audit import trail
from audit.models import AuditEvent

from .. import transcoding
from ..models import Video
from .transcode import still_command, transcode_source

_poster_checks: list[Callable[[Video, float], list[str]]] = []


def register_poster_check(check: Callable[[Video, float], list[str]]) -> None:
    """Have every poster choice wait for ``check(video, at) == []`` (the reasons, in words for people)."""
    if check not in _poster_checks:
        _poster_checks.append(check)


def video_poster_set(*, user, video: Video, at) -> Video:
    """Take the poster of ``video`` from ``at`` seconds into the recording (owner or editor)."""
    if not video.can_edit(user):
        raise PermissionDenied("Only the owner or an editor may choose the poster.")
    try:
        at = float(at)
    except (TypeError, ValueError):
        raise ValidationError({"at": "Give the time in seconds."}) from None
    if not math.isfinite(at) or at < 0 or (video.duration and at > video.duration):
        raise ValidationError({"at": f"Choose a time between 0 and {video.duration or 0:g} seconds."})
    if reasons := [reason for check in _poster_checks for reason in check(video, at)]:
        raise ValidationError({"at": "; ".join(reasons)})
    # A frame as the ladder shows it: from what the transcode reads (privacy's redacted
    # recording when there is one), with the picture edit (privacy's blurs and masks).
    source = transcode_source(video)
    if video.is_working or source is None or not source.exists():
        raise ValidationError({"at": "The poster can be chosen once the recording is processed and its original kept."})
    poster = video.hls_dir / "poster.jpg"
    poster.parent.mkdir(parents=True, exist_ok=True)
    partial = poster.with_name("poster.choosing.jpg")
    argv = still_command(video, at=at, target=partial)
    result = transcoding.run_simple(argv, timeout=120)
    if result.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        raise ValidationError({"at": "No frame could be taken at that time."})
    os.replace(partial, poster)  # the old poster serves until the new one is whole
    Video.objects.filter(pk=video.pk).update(has_poster=True)
    trail.record(AuditEvent.Event.VIDEO_EDIT, actor=user, video=str(video.uuid), fields=["poster"], at=round(at, 3))
    video.has_poster = True
    return video
