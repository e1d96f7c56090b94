"""
Governance writes (issue #17). Every door — API, review page, upload, admin, the daily jobs —
calls these, so each rule is written once:

- ``consent_set``: record consent; withdrawn consent takes the video down at once (videos'
  review service, which voids its signed URLs) and lists it for deletion; it is final.
- ``legal_hold_set`` / ``legal_hold_release``: a reason each time, audited. While a hold
  exists, videos' ``video_delete`` refuses (the delete check registered in ``apps.py``).
- ``retention_scan`` (daily): list what is due into ``DeletionDue``; delete what an Admin
  confirmed. ``deletion_confirm`` (Admins) and ``deletion_run`` (the deletion itself, through
  ``video_delete``, so a hold set after the confirmation still wins).
- ``originals_purge`` (daily): delete uploaded originals ``KEEP_ORIGINALS_DAYS`` after
  publishing; ``original_open`` hands one to an Admin who gives a reason.
- ``access_confirm`` / ``access_revoke``: the access review's decisions.

Audit: the audit app's event kinds are a checked list that only its own migration may extend,
so these record the nearest existing kind with ``governance=<action>`` in the detail
(``AUDIT_EVENTS`` below is the one place to change when the audit app gains kinds of its own).
"""

import logging
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import services as account_services
from audit import trail
from audit.models import AuditEvent
from core.errors import Refused
from videos.models import Video
from videos.services import review, uploads

from . import rights
from .models import AccessReview, Consent, DeletionDue, LegalHold, RetentionPolicy

logger = logging.getLogger(__name__)
Event = AuditEvent.Event

AUDIT_EVENTS = {
    "consent_set": Event.VIDEO_EDIT,
    "legal_hold_set": Event.VIDEO_EDIT,
    "legal_hold_release": Event.VIDEO_EDIT,
    "deletion_listed": Event.VIDEO_EDIT,
    "deletion_confirmed": Event.VIDEO_EDIT,
    "deletion_blocked": Event.VIDEO_EDIT,
    "original_deleted": Event.VIDEO_EDIT,
    "original_downloaded": Event.VIDEO_EDIT,
    "access_confirmed": Event.ROLE_CHANGE,
    "access_revoked": Event.ROLE_CHANGE,
}


def _audit(action: str, *, actor=None, video: Video | None = None, target=None, **detail) -> None:
    if video is not None:
        detail["video"] = str(video.uuid)
    trail.record(AUDIT_EVENTS[action], actor=actor, target=target, governance=action, **detail)


# ------------------------------------------------------------------------------ consent


def consent_of(video: Video) -> Consent | None:
    return Consent.objects.filter(video_id=video.pk).select_related("set_by").first()


def consent_clean(*, status, purpose) -> tuple[str, str]:
    """``status`` and ``purpose`` checked (ValidationError naming the field); purpose may be empty."""
    status = status.strip() if isinstance(status, str) else status
    purpose = (purpose.strip() if isinstance(purpose, str) else purpose) or ""
    if status not in Consent.Status.values:
        raise ValidationError({"status": f"Choose one of: {', '.join(Consent.Status.values)}."})
    if not isinstance(purpose, str) or (purpose and purpose not in Consent.Purpose.values):
        raise ValidationError({"purpose": f"Choose one of: {', '.join(Consent.Purpose.values)}."})
    if status == Consent.Status.OBTAINED and not purpose:
        raise ValidationError({"purpose": "Say what the consent covers: teaching, research or clinical record."})
    return status, purpose


@transaction.atomic
def consent_set(*, user, video: Video, status: str, purpose: str = "") -> Consent:
    """
    Record ``video``'s consent (its owner or an approver). Withdrawn is final: the video is
    archived at once (its signed URLs stop working) and listed for deletion, which an Admin
    confirms; publishing is refused from then on.
    """
    if not rights.may_set_consent(user, video):
        raise PermissionDenied("Only the video's owner or an approver may record its consent.")
    status, purpose = consent_clean(status=status, purpose=purpose)
    consent = Consent.objects.select_for_update().filter(video_id=video.pk).first()
    if consent is not None and consent.status == Consent.Status.WITHDRAWN:
        if status == Consent.Status.WITHDRAWN:
            return consent
        raise ValidationError(
            {
                "status": "Consent for this recording was withdrawn; that cannot be undone. Upload a new recording "
                "with new consent instead."
            }
        )
    now = timezone.now()
    if status == Consent.Status.WITHDRAWN and not purpose and consent is not None:
        purpose = consent.purpose
    if consent is None:
        consent = Consent(video=video)
    consent.status, consent.purpose, consent.set_by, consent.set_at = status, purpose, user, now
    consent.withdrawn_at = now if status == Consent.Status.WITHDRAWN else None
    consent.save()
    _audit("consent_set", actor=user, video=video, status=status, purpose=purpose)
    if status == Consent.Status.WITHDRAWN:
        # As it is now (the caller's copy may be older): published or awaiting review, it goes.
        review.video_take_down(user=user, video=Video.objects.get(pk=video.pk), reason="Consent withdrawn.")
        due, created = DeletionDue.objects.get_or_create(
            video=video, defaults={"reason": DeletionDue.Reason.CONSENT_WITHDRAWN, "due_since": now}
        )
        if not created and due.reason != DeletionDue.Reason.CONSENT_WITHDRAWN:
            DeletionDue.objects.filter(pk=due.pk).update(reason=DeletionDue.Reason.CONSENT_WITHDRAWN)
        _audit("deletion_listed", actor=user, video=video, reason=DeletionDue.Reason.CONSENT_WITHDRAWN)
    return consent


def consent_publish_blockers(video: Video) -> list[str]:
    """The publish gate's consent check (registered in apps.py)."""
    status = Consent.objects.filter(video_id=video.pk).values_list("status", flat=True).first()
    if status == Consent.Status.WITHDRAWN:
        return ["consent was withdrawn"]
    if status is None and settings.CONSENT_REQUIRED:
        return ["consent not recorded"]
    return []


def consent_upload_extra(*, user, data):
    """
    The upload's ``consent_status`` / ``consent_purpose`` fields (videos' upload extras):
    checked before the file is stored, recorded in the transaction that creates the video.
    """
    status, purpose = data.get("consent_status"), data.get("consent_purpose")
    if not status and not purpose:
        return None
    try:
        status, purpose = consent_clean(status=status or "", purpose=purpose or "")
    except ValidationError as error:
        raise ValidationError({f"consent_{field}": errors for field, errors in error.message_dict.items()}) from None
    if status == Consent.Status.WITHDRAWN:
        raise ValidationError({"consent_status": "A new upload cannot start with withdrawn consent."})
    return lambda video: consent_set(user=user, video=video, status=status, purpose=purpose)


# ------------------------------------------------------------------------------ legal hold


def _reason(reason) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError({"reason": "Give the reason (e.g. the case or inquiry reference); it is audited."})
    if len(reason) > 500:
        raise ValidationError({"reason": "At most 500 characters."})
    return reason


@transaction.atomic
def legal_hold_set(*, user, video: Video, reason: str) -> LegalHold:
    """Put ``video`` under legal hold (approvers, Admins): nothing deletes it until released."""
    if not rights.may_set_legal_hold(user):
        raise PermissionDenied("Only approvers and Admins may set a legal hold.")
    reason = _reason(reason)
    Video.objects.select_for_update().filter(pk=video.pk).first()  # waits for a deletion in flight
    hold, _ = LegalHold.objects.update_or_create(
        video=video, defaults={"reason": reason, "set_by": user, "set_at": timezone.now()}
    )
    _audit("legal_hold_set", actor=user, video=video, reason=reason)
    return hold


@transaction.atomic
def legal_hold_release(*, user, video: Video, reason: str) -> bool:
    """Release ``video``'s legal hold, with a reason; False if it had none."""
    if not rights.may_set_legal_hold(user):
        raise PermissionDenied("Only approvers and Admins may release a legal hold.")
    reason = _reason(reason)
    deleted, _ = LegalHold.objects.filter(video_id=video.pk).delete()
    if deleted:
        _audit("legal_hold_release", actor=user, video=video, reason=reason)
    return bool(deleted)


def legal_hold_delete_blockers(video: Video) -> list[str]:
    """videos' delete check (registered in apps.py): nothing under legal hold is deleted."""
    return ["it is under legal hold"] if LegalHold.objects.filter(video_id=video.pk).exists() else []


# ------------------------------------------------------------------------------ retention


def years_before(moment: datetime, years: int) -> datetime:
    """``moment`` ``years`` calendar years earlier (29 February → 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def retention_due(*, now: datetime | None = None) -> list[tuple[int, datetime]]:
    """
    (video id, due since) for each video past its category's retention: published (or, never
    published, processed) ``keep_years`` ago. Videos under legal hold are left out.
    """
    now = now or timezone.now()
    due = []
    for policy in RetentionPolicy.objects.all():
        cutoff = years_before(now, policy.keep_years)
        rows = (
            Video.objects.filter(category_id=policy.category_id, legal_hold__isnull=True)
            .filter(Q(published_at__lte=cutoff) | Q(published_at__isnull=True, processed_at__lte=cutoff))
            .values_list("pk", "published_at", "processed_at")
        )
        for pk, published_at, processed_at in rows:
            start = published_at or processed_at
            due.append((pk, years_before(start, -policy.keep_years)))
    return due


def retention_scan(*, now: datetime | None = None) -> dict:
    """
    The daily job: list the videos now due (``DeletionDue``), then delete those an Admin
    confirmed and that nothing holds. Returns the counts.
    """
    listed = 0
    for video_id, due_since in retention_due(now=now):
        with transaction.atomic():
            _, created = DeletionDue.objects.get_or_create(
                video_id=video_id, defaults={"reason": DeletionDue.Reason.RETENTION, "due_since": due_since}
            )
            if created:
                listed += 1
    deleted = blocked = 0
    for due in DeletionDue.objects.confirmed().select_related("video", "confirmed_by"):
        if deletion_run(due_id=due.pk):
            deleted += 1
        else:
            blocked += 1
    return {"listed": listed, "deleted": deleted, "blocked": blocked}


@transaction.atomic
def deletion_confirm(*, user, dues) -> int:
    """
    An Admin confirms that the videos of ``dues`` (DeletionDue rows) go. Each is deleted right
    after commit (a task), and again by the daily job if that did not happen; a legal hold set
    at any time before the deletion keeps the video. Held ones are refused now. Returns how many.
    """
    if not rights.may_confirm_deletion(user):
        raise PermissionDenied("Only Admins may confirm deletions.")
    confirmed = []
    for due in DeletionDue.objects.select_for_update().filter(pk__in=[d.pk for d in dues]).select_related("video"):
        if reasons := uploads.delete_blockers(due.video):
            raise ValidationError(f"“{due.video}” cannot be deleted: {'; '.join(reasons)}.", code="delete_blocked")
        if due.confirmed_at is None:
            due.confirmed_by, due.confirmed_at, due.blocked = user, timezone.now(), ""
            due.save(update_fields=["confirmed_by", "confirmed_at", "blocked"])
            _audit("deletion_confirmed", actor=user, video=due.video, reason=due.reason)
        confirmed.append(due.pk)
    transaction.on_commit(lambda: _enqueue_deletions(confirmed))
    return len(confirmed)


def _enqueue_deletions(due_ids: list[int]) -> None:
    from django_q.tasks import async_task

    for due_id in due_ids:
        async_task("governance.tasks.deletion_run", due_id, task_name=f"governance: delete (due {due_id})")


def deletion_run(*, due_id: int) -> bool:
    """
    Delete the video of the confirmed ``due_id`` through ``video_delete`` as the Admin who
    confirmed it (files and keys go with the row; audited there). A delete check (legal hold)
    refusing now wins over the confirmation: the row stays, saying why. True if deleted.
    """
    due = DeletionDue.objects.select_related("video", "confirmed_by").filter(pk=due_id).first()
    if due is None or due.confirmed_at is None:
        return False
    try:
        uploads.video_delete(user=due.confirmed_by, video=due.video)
    except (uploads.DeleteBlocked, PermissionDenied) as error:
        message = (
            error.message if isinstance(error, Refused) else "the Admin who confirmed it may no longer delete videos"
        )
        if due.blocked != message[:500]:  # recorded once, not at every daily run while it holds
            with transaction.atomic():
                DeletionDue.objects.filter(pk=due.pk).update(blocked=message[:500])
                _audit("deletion_blocked", video=due.video, why=message[:200])
        return False
    return True


# ------------------------------------------------------------------------------ originals


def originals_purge(*, now: datetime | None = None) -> int:
    """
    The daily job: delete the uploaded original of every video published more than
    ``KEEP_ORIGINALS_DAYS`` days ago (none when the setting is empty), except under legal
    hold or while a transcode holds the video. The ladder keeps serving. Returns how many.
    """
    days = settings.KEEP_ORIGINALS_DAYS
    if days is None:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    candidates = Video.objects.filter(
        published_at__lte=cutoff, legal_hold__isnull=True, job_token__isnull=True
    ).exclude(original_path="")
    done = 0
    for video_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            video = Video.objects.select_for_update().filter(pk=video_id).first()
            if (
                video is None
                or not video.original_path
                or video.job_token is not None
                or LegalHold.objects.filter(video_id=video_id).exists()
            ):
                continue
            path = video.original_file
            Video.objects.filter(pk=video_id).update(original_path="")
            _audit("original_deleted", video=video, days=days)
            transaction.on_commit(lambda path=path: Path(path).unlink(missing_ok=True))
            done += 1
    return done


class NoOriginal(Refused):
    status = 404


@transaction.atomic
def original_open(*, user, video: Video, reason) -> Path:
    """
    The uploaded original of ``video`` for an Admin who says why (audited before a byte is
    sent); everyone else is refused. Raises ``NoOriginal`` when it was deleted or is missing.
    """
    if not rights.may_download_original(user):
        raise PermissionDenied("Only Admins may download uploaded originals.")
    reason = _reason(reason)
    path = video.original_file
    if path is None or not path.is_file():
        raise NoOriginal("This video has no uploaded original any more.", code="no_original")
    _audit("original_downloaded", actor=user, video=video, reason=reason)
    return path


# ------------------------------------------------------------------------------ access review


@transaction.atomic
def access_confirm(*, reviewer, user) -> AccessReview:
    """The access review: ``reviewer`` (an Admin) confirms ``user``'s roles as they are."""
    if not rights.may_review_access(reviewer):
        raise PermissionDenied("Only Admins may review access.")
    entry = AccessReview.objects.create(
        user=user, reviewer=reviewer, decision=AccessReview.Decision.CONFIRMED, roles=list(user.roles)
    )
    _audit("access_confirmed", actor=reviewer, target=user, roles=entry.roles)
    return entry


@transaction.atomic
def access_revoke(*, reviewer, user) -> AccessReview:
    """The access review: ``reviewer`` (an Admin) removes every role of ``user`` (audited by accounts too)."""
    if not rights.may_review_access(reviewer):
        raise PermissionDenied("Only Admins may review access.")
    if reviewer.pk == user.pk:
        raise ValidationError("You cannot revoke your own access; ask another Admin.", code="own_access")
    before = list(user.roles) + (["superuser"] if user.is_superuser else [])
    if user.is_superuser:
        account_services.user_set_superuser(actor=reviewer, user=user, superuser=False)
    account_services.user_set_roles(actor=reviewer, user=user, role_names=[])
    entry = AccessReview.objects.create(
        user=user, reviewer=reviewer, decision=AccessReview.Decision.REVOKED, roles=before
    )
    _audit("access_revoked", actor=reviewer, target=user, roles=before)
    return entry
