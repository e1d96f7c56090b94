"""
The review workflow: approvers publish, reject and archive videos; a rejected video's owner
edits and resubmits it; the uploader is e-mailed each decision. The review page, the API's
``publish|reject|archive|resubmit`` and the admin actions all come here.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from core.context import current_request
from core.errors import Refused

from .. import revocation
from ..models import Video
from .metadata import video_update

Event = AuditEvent.Event
Status = Video.Status
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """What an approver may decide: the status it leads to, from which ones, what is recorded."""

    to: str
    allowed_from: frozenset[str]
    event: str
    notify: bool = False  # the uploader is e-mailed videos/email/video_<to>.txt


# Where each decision may be taken from (the review page offers only these).
PUBLISH_FROM = frozenset({Status.PROCESSED, Status.REJECTED, Status.ARCHIVED})
REJECT_FROM = frozenset({Status.PROCESSED, Status.PUBLISHED})
ARCHIVE_FROM = frozenset({Status.PUBLISHED, Status.PROCESSED, Status.REJECTED})

PUBLISH = Decision(Status.PUBLISHED, PUBLISH_FROM, Event.VIDEO_PUBLISH, notify=True)
REJECT = Decision(Status.REJECTED, REJECT_FROM, Event.VIDEO_REJECT, notify=True)
ARCHIVE = Decision(Status.ARCHIVED, ARCHIVE_FROM, Event.VIDEO_ARCHIVE)


# ------------------------------------------------------------------------------ publish gate

# What must hold before a video may be published, registered by the apps that know
# (PUBLISH_REQUIRED_FIELDS here; privacy's undecided ranges; governance's consent): each
# check returns the reasons, in words for people, that the video may not be published yet.
_publish_checks: list[Callable[[Video], list[str]]] = []


def register_publish_check(check: Callable[[Video], list[str]]) -> None:
    """Have every publication (approver, admin, API, auto-publish) wait for ``check(video) == []``."""
    if check not in _publish_checks:
        _publish_checks.append(check)


def publish_blockers(video: Video) -> list[str]:
    """Why ``video`` may not be published yet (empty: it may)."""
    return [reason for check in _publish_checks for reason in check(video)]


class PublishBlocked(Refused, ValidationError):
    """Publishing refused until the reasons are dealt with: the API answers 409 naming them."""

    status = 409

    def __init__(self, reasons: list[str]):
        message = "This video cannot be published yet: " + "; ".join(reasons)
        Refused.__init__(self, message, code="publish_blocked")
        ValidationError.__init__(self, message, code="publish_blocked")
        self.reasons = reasons


# PUBLISH_REQUIRED_FIELDS: each name → (is it given?, what the review page says is missing).
REQUIRED_FIELDS: dict[str, tuple[Callable[[Video], bool], str]] = {
    "category": (lambda video: video.category_id is not None, "a category"),
    "surgeons": (lambda video: video.video_surgeons.exists(), "at least one surgeon"),
    "date_of_surgery": (lambda video: video.date_of_surgery is not None, "the date of surgery"),
    "tags": (lambda video: video.tags.exists(), "at least one tag"),
    "description": (lambda video: bool(video.description.strip()), "a description"),
}


def required_fields_missing(video: Video) -> list[str]:
    """The publish check of ``PUBLISH_REQUIRED_FIELDS`` (registered by ``VideosConfig.ready``)."""
    missing = [
        REQUIRED_FIELDS[name][1] for name in settings.PUBLISH_REQUIRED_FIELDS if not REQUIRED_FIELDS[name][0](video)
    ]
    return [f"it needs {', '.join(missing[:-1])}{' and ' if len(missing) > 1 else ''}{missing[-1]}"] if missing else []


def may_auto_publish(video: Video) -> bool:
    """Whether a video that would publish itself (no approval needed, resubmitted) may do so now."""
    return not publish_blockers(video)


def _decide(*, user, video: Video, decision: Decision, note: str = "", rule: bool = False) -> Video:
    if not rule and not video.can_review(user):
        raise PermissionDenied("Only approvers may publish, reject or archive videos.")
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        if video.status not in decision.allowed_from:
            raise ValidationError(
                f"A {video.get_status_display().lower()} video cannot be {decision.to}.", code="invalid_state"
            )
        if decision.to == Status.PUBLISHED and (reasons := publish_blockers(video)):
            raise PublishBlocked(reasons)
        withdrawn = video.status == Status.PUBLISHED and decision.to != Status.PUBLISHED
        video.status = decision.to
        video.review_note = note[:500]
        fields = ["status", "review_note", "updated_at"]
        if decision.to == Status.PUBLISHED:
            video.published_at = timezone.now()
            fields.append("published_at")
        video.save(update_fields=fields)
        if withdrawn:
            # Every frame, playlist and key URL handed out while it was published stops working
            # (videos.revocation); those who may still see it get fresh ones from the pages.
            revocation.revoke_video(video.pk)
        trail.record(decision.event, actor=user, video=str(video.uuid), note=video.review_note)
        if decision.notify:
            _notify_uploader(reviewer=user, video=video, decision=decision.to)
    return video


def video_publish(*, user, video: Video) -> Video:
    """Publish a video (approvers); the uploader is e-mailed after commit."""
    return _decide(user=user, video=video, decision=PUBLISH)


def video_reject(*, user, video: Video, reason: str = "") -> Video:
    """Reject a video with a reason (approvers); the uploader is e-mailed the reason after commit."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the video is rejected; the uploader will see it."})
    return _decide(user=user, video=video, decision=REJECT, note=reason.strip())


def video_archive(*, user, video: Video) -> Video:
    """Archive a video (approvers): out of the library, kept with its files."""
    return _decide(user=user, video=video, decision=ARCHIVE)


def video_take_down(*, user, video: Video, reason: str) -> Video:
    """
    Archive ``video`` at once because a rule of an app above says so (governance: consent
    withdrawn), whoever ``user`` is: the caller has checked its own right. Published, its
    signed URLs stop working; awaiting review, it leaves the queue. Already out: unchanged.
    """
    if video.status not in ARCHIVE_FROM:
        return video
    return _decide(user=user, video=video, decision=ARCHIVE, note=reason, rule=True)


def video_publish_unattended(*, video: Video, note: str) -> bool:
    """
    Publish ``video`` with no one deciding, as a finished transcode does when
    ``VIDEOS_REQUIRE_APPROVAL`` is off: for a job that ends after the ladder (privacy's scan)
    and held it back until then. Only a video awaiting review that nothing blocks; the audit
    names no actor (the system) and says why. Whether it was published.
    """
    if settings.VIDEOS_REQUIRE_APPROVAL:
        return False
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        if video.status != Status.PROCESSED or video.review_note or publish_blockers(video):
            return False  # a rejected-then-edited video or one an approver holds waits for them
        video.status, video.published_at = Status.PUBLISHED, video.published_at or timezone.now()
        video.save(update_fields=["status", "published_at", "updated_at"])
        # A job has no request, so the event names no actor; ``automatic`` says no one decided.
        trail.record(Event.VIDEO_PUBLISH, actor=None, video=str(video.uuid), note=note[:500], automatic=True)
    return True


def video_resubmit(*, user, video: Video, metadata: dict | None = None) -> Video:
    """
    Send a rejected video back for review (its owner with upload rights, or an editor),
    saving ``metadata`` edits first in the same transaction (the edit page's "Save and
    resubmit"). It lands where a finished transcode would: awaiting review, or published at
    once when ``VIDEOS_REQUIRE_APPROVAL`` is off. The reviewer's note is cleared on the video
    and kept in the audit trail (in the rejection's event and again in this one).
    """
    if not video.can_edit(user):
        raise PermissionDenied("You may not resubmit this video.")
    with transaction.atomic():
        if metadata:
            video_update(user=user, video=video, **metadata)
        video = Video.objects.select_for_update().get(pk=video.pk)
        if video.status != Status.REJECTED:
            raise ValidationError(
                f"Only rejected videos can be resubmitted; this one is {video.get_status_display().lower()}.",
                code="invalid_state",
            )
        previous_note = video.review_note
        publish = not settings.VIDEOS_REQUIRE_APPROVAL and may_auto_publish(video)
        video.status = Status.PUBLISHED if publish else Status.PROCESSED
        video.review_note = ""
        fields = ["status", "review_note", "updated_at"]
        if publish:
            video.published_at = timezone.now()
            fields.append("published_at")
        video.save(update_fields=fields)
        trail.record(
            Event.VIDEO_RESUBMIT,
            actor=user,
            video=str(video.uuid),
            status=video.status,
            previous_note=previous_note,
        )
    return video


# ------------------------------------------------------------------------------ notices


def _site_url(path: str) -> str:
    """An absolute link for an e-mail: ``SITE_URL`` when set, else the current request's host, else ``path``."""
    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    if base:
        return base + path
    request = current_request()
    if request is not None and hasattr(request, "build_absolute_uri"):
        return request.build_absolute_uri(path)
    return path


def _notify_uploader(*, reviewer, video: Video, decision: str) -> None:
    """After commit, e-mail the uploader a review decision (not when they decided it themselves)."""
    if video.uploader_id == reviewer.pk:
        return
    links = {
        "watch_url": _site_url(reverse("videos:watch", kwargs={"video_uuid": video.uuid})),
        "edit_url": _site_url(reverse("videos:edit", kwargs={"video_uuid": video.uuid})),
        "mine_url": _site_url(reverse("videos:mine")),
    }
    video_id, note, reviewer_name = video.pk, video.review_note, reviewer.get_full_name() or reviewer.username
    transaction.on_commit(
        lambda: review_notice_send(video_id=video_id, decision=decision, reason=note, reviewer=reviewer_name, **links)
    )


REVIEW_SUBJECTS = {
    "published": "“{title}” is published",
    "rejected": "“{title}” was not approved",
}


def review_notice_send(*, video_id: int, decision: str, reason: str = "", reviewer: str = "", **links) -> bool:
    """
    E-mail the uploader of ``video_id`` that it was ``published`` or ``rejected`` (with the
    reason and a link to edit and resubmit), from ``videos/email/video_<decision>.txt``.
    Never raises: a failure is logged, and the decision it reports stands.
    """
    try:
        video = Video.objects.select_related("uploader").filter(pk=video_id).first()
        uploader = video.uploader if video else None
        if uploader is None or not uploader.is_active or not uploader.email:
            return False
        context = {
            "user": uploader,
            "video": video,
            "reason": reason,
            "reviewer": reviewer,
            "site_name": settings.SITE_NAME,
            **links,
        }
        body = render_to_string(f"videos/email/video_{decision}.txt", context)
        # One line: a newline in a header would make send_mail refuse the message.
        subject = REVIEW_SUBJECTS[decision].format(title=" ".join(video.title.split())[:120])
        send_mail(
            subject=f"{settings.SITE_NAME}: {subject}",
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[uploader.email],
        )
    except Exception:
        logger.exception("review notice not sent", extra={"video_id": video_id, "decision": decision})
        return False
    return True
