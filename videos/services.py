"""
Writes on videos: creating a video from a received file, editing its metadata, the review
workflow, deleting, and the transcoding job itself. Every door (API, pages, admin,
commands, django-q2 tasks) calls these.
"""

import logging
import os
import secrets
import shutil
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Sum, Value
from django.db.models.functions import Greatest
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from core.errors import Refused, StorageFull, is_storage_full  # noqa: F401 (re-exported)

from . import ingest, revocation, rights, search_index, transcoding
from .models import Category, Rendition, Surgeon, Tag, Upload, Video, VideoSurgeon

Event = AuditEvent.Event
logger = logging.getLogger(__name__)


class DuplicateVideo(Exception):
    """The same content is already in the library and the caller may see it."""

    def __init__(self, video: Video):
        super().__init__(str(video.uuid))
        self.video = video


# ------------------------------------------------------------------------------ metadata

METADATA_FIELDS = {"title", "description", "transcript", "category", "tags", "surgeons", "date_of_surgery"}


def _clean_metadata(*, user, data: dict) -> dict:
    """
    Validate metadata and resolve names to rows. ``tags`` and ``category`` are names
    (case-insensitive; unknown names are created only for editors); ``surgeons`` are ids
    or ``{"id", "role"}``.
    """
    unknown = set(data) - METADATA_FIELDS
    if unknown:
        raise ValidationError({field: "This field cannot be set." for field in sorted(unknown)})
    errors: dict[str, str] = {}
    clean: dict = {}
    if "title" in data:
        title = (data["title"] or "").strip()
        if not title:
            errors["title"] = "A title is required."
        elif len(title) > 200:
            errors["title"] = "Titles are at most 200 characters."
        clean["title"] = title
    for field in ("description", "transcript"):
        if field in data:
            value = data[field] or ""
            if not isinstance(value, str):
                errors[field] = "Must be text."
            elif len(value) > 200_000:
                errors[field] = "Too long."
            clean[field] = value
    if "date_of_surgery" in data:
        value = data["date_of_surgery"]
        if value in (None, ""):
            clean["date_of_surgery"] = None
        else:
            try:
                parsed = value if isinstance(value, date) else date.fromisoformat(str(value))
            except ValueError:
                errors["date_of_surgery"] = "Use an ISO date, e.g. 2026-03-14."
            else:
                if parsed > timezone.localdate():
                    errors["date_of_surgery"] = "The date of surgery cannot be in the future."
                clean["date_of_surgery"] = parsed
    if "category" in data:
        name = (data["category"] or "").strip()
        if not name:
            clean["category"] = None
        else:
            category = Category.objects.filter(name__iexact=name).first()
            if category is None and not rights.may_add_to_catalogue(user, Category):
                errors["category"] = f"Unknown category “{name}”. Ask an editor to add it."
            clean["category"] = category or name
    if "tags" in data:
        names = data["tags"] or []
        if isinstance(names, str):
            names = [part for part in names.split(",")]
        names = [str(name).strip() for name in names if str(name).strip()]
        if any(len(name) > 60 for name in names):
            errors["tags"] = "Tags are at most 60 characters."
        existing = {tag.name.lower(): tag for tag in Tag.objects.by_names(names)}
        missing = [name for name in names if name.lower() not in existing]
        if missing and not rights.may_add_to_catalogue(user, Tag):
            errors["tags"] = f"Unknown tag(s): {', '.join(missing)}. Ask an editor to add them."
        clean["tags"] = (list(existing.values()), list(dict.fromkeys(missing)))
    if "surgeons" in data:
        entries = data["surgeons"] or []
        pairs = []
        for entry in entries:
            if isinstance(entry, dict):
                surgeon_id, role = entry.get("id"), entry.get("role") or VideoSurgeon.Role.PRIMARY
            else:
                surgeon_id, role = entry, VideoSurgeon.Role.PRIMARY
            try:
                surgeon_id = int(surgeon_id)
            except (TypeError, ValueError):
                errors["surgeons"] = "Give surgeons as ids or {id, role}."
                break
            if role not in VideoSurgeon.Role.values:
                errors["surgeons"] = f"Unknown surgeon role “{role}”."
                break
            pairs.append((surgeon_id, role))
        found = Surgeon.objects.in_bulk([pk for pk, _ in pairs])
        if "surgeons" not in errors and len(found) != len({pk for pk, _ in pairs}):
            errors["surgeons"] = "Unknown surgeon id."
        clean["surgeons"] = [(found.get(pk), role) for pk, role in pairs]
    if errors:
        raise ValidationError(errors)
    return clean


def _apply_metadata(video: Video, clean: dict) -> list[str]:
    changed = []
    for field in ("title", "description", "transcript", "date_of_surgery"):
        if field in clean:
            setattr(video, field, clean[field])
            changed.append(field)
    if "category" in clean:
        category = clean["category"]
        if isinstance(category, str):
            category, _ = Category.objects.get_or_create(name=category)
        video.category = category
        changed.append("category")
    if changed:
        video.save(update_fields=[*changed, "updated_at"])
    if "tags" in clean:
        existing, missing = clean["tags"]
        created = [Tag.objects.get_or_create(name__iexact=name, defaults={"name": name})[0] for name in missing]
        video.tags.set(existing + created)
        changed.append("tags")
    if "surgeons" in clean:
        VideoSurgeon.objects.filter(video=video).delete()
        VideoSurgeon.objects.bulk_create(
            [
                VideoSurgeon(video=video, surgeon=surgeon, role=role)
                for surgeon, role in dict((surgeon.pk, (surgeon, role)) for surgeon, role in clean["surgeons"]).values()
            ]
        )
        changed.append("surgeons")
    if {"tags", "surgeons", "category"} & set(changed):
        search_index.refresh([video.pk])  # bulk_create above sends no signals
    return changed


@transaction.atomic
def video_update(*, request, user, video: Video, **data) -> Video:
    """Edit a video's metadata (owner with upload rights, or an editor)."""
    if not video.can_edit(user):
        raise PermissionDenied("You may not edit this video.")
    clean = _clean_metadata(user=user, data=data)
    video = Video.objects.select_for_update().get(pk=video.pk)
    changed = _apply_metadata(video, clean)
    if changed:
        trail.record(Event.VIDEO_EDIT, actor=user, video=str(video.uuid), fields=sorted(changed))
    return video


@transaction.atomic
def catalogue_add(*, model, user, request, name: str, specialty: str = "", description: str = ""):
    """Add a tag, category or surgeon (editors); an existing name (any case) is returned as is."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A name is required."})
    if model is Surgeon:
        return Surgeon.objects.create(name=name, specialty=specialty.strip())
    existing = _catalogue_entry(model, name)
    if existing is not None:
        return existing
    extra = {"description": description} if model is Category else {}
    try:
        with transaction.atomic():
            return model.objects.create(name=name, **extra)
    except IntegrityError:
        # Another request added the same name, or took the slug, between the check and the insert.
        existing = _catalogue_entry(model, name)
        if existing is not None:
            return existing
        with transaction.atomic():
            return model.objects.create(name=name, **extra)  # a fresh slug this time


def _catalogue_entry(model, name: str):
    return model.objects.filter(name__iexact=name).first()


# ------------------------------------------------------------------------------ creation


def _originals_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "originals"
    path.mkdir(parents=True, exist_ok=True)
    return path


def video_create_from_file(
    *, request, user, path: Path, filename: str, md5: str, size: int, metadata: dict | None = None
) -> Video:
    """
    Turn a fully received file into a queued video. ``path`` is consumed: moved into
    ``originals/`` on success, deleted on any refusal, so nothing is left behind.
    Raises ``ValidationError`` (a rule failed), ``DuplicateVideo`` (same content, visible to
    the caller) or ``PermissionDenied``.
    """
    try:
        if not user.has_perm("videos.upload_video"):
            raise PermissionDenied("Your role may not upload videos.")
        filename = ingest.clean_name(filename)
        clean = _clean_metadata(user=user, data={k: v for k, v in (metadata or {}).items() if v not in (None, "")})
        probe = ingest.check_file(path, filename)
        existing = Video.objects.filter(md5=md5, size_bytes=size).first()
        if existing is not None:
            if Video.objects.visible_to(user).filter(pk=existing.pk).exists():
                raise DuplicateVideo(existing)
            raise ValidationError(
                "An identical recording is already in the library (uploaded by someone else and not yet "
                "published). Ask an editor if you need access.",
                code="duplicate",
            )
        extension = ingest.extension_of(filename)
        video = Video(
            uploader=user,
            title=clean.pop("title", None) or Path(filename).stem[:200] or "Untitled recording",
            original_name=filename,
            size_bytes=size,
            md5=md5,
            duration=probe.duration,
            width=probe.width,
            height=probe.height,
            frame_rate=round(probe.frame_rate, 3),
            video_codec=probe.video_codec,
            audio_codec=probe.audio_codec or "",
            container=probe.format_name[:80],
            job_token=uuid.uuid4(),
        )
        target = _originals_dir() / f"{video.uuid}.{extension}"
        try:
            with transaction.atomic():
                video.original_path = str(target.relative_to(settings.MEDIA_ROOT))
                video.save()
                _apply_metadata(video, clean)
                os.replace(path, target)
                trail.record(
                    Event.VIDEO_UPLOAD,
                    actor=user,
                    video=str(video.uuid),
                    size=size,
                    name=video.original_name,
                )
                _enqueue_transcode(video)
        except IntegrityError:
            # Raced with an identical upload: the unique (md5, size) constraint kept the first.
            target.unlink(missing_ok=True)
            raise ValidationError("An identical recording was uploaded at the same moment.", code="duplicate") from None
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return video
    finally:
        Path(path).unlink(missing_ok=True)


def _enqueue_transcode(video: Video) -> None:
    """Queue the job after commit (the worker must find the row), by id and token."""
    from django_q.tasks import async_task

    video_id, token = video.pk, str(video.job_token)
    # The transcode queue (settings.Q_TRANSCODE_CLUSTER), so short jobs never wait behind an encode.
    transaction.on_commit(
        lambda: async_task(
            "videos.tasks.transcode",
            video_id,
            token,
            task_name=f"transcode-{video.uuid}"[:100],
            cluster=settings.Q_TRANSCODE_CLUSTER,
        )
    )


# ------------------------------------------------------------------------------ tus uploads


class QuotaExceeded(Refused):
    """The user's uploads would pass ``UPLOAD_QUOTA_BYTES`` (the API answers 413 with ``message``)."""

    status = 413

    def __init__(self, message: str, *, used: int, length: int, quota: int):
        super().__init__(message)
        self.used, self.length, self.quota = used, length, quota

    def record(self, *, user, request=None) -> None:
        """Audit the refusal (outside the transaction that the refusal rolls back)."""
        trail.record(
            Event.QUOTA_REFUSED,
            actor=user,
            target=user,
            used=self.used,
            length=self.length,
            quota=self.quota,
        )


def upload_usage(user) -> int:
    """Bytes ``user`` holds on the media disk: unfinished uploads (their full length) and stored originals."""
    in_flight = Upload.objects.filter(user=user, completed_at__isnull=True).aggregate(total=Sum("length"))["total"]
    stored = Video.objects.filter(uploader=user).aggregate(total=Sum("size_bytes"))["total"]
    return (in_flight or 0) + (stored or 0)


def upload_admit(*, user, length: int, folder: str = "uploads") -> None:
    """
    Whether ``user`` may start sending ``length`` bytes, decided before the first byte lands
    (tus creation, and the start of a multipart body): the upload permission, the free space
    on the media disk and the user's quota. Raises ``PermissionDenied``, ``StorageFull`` or
    ``QuotaExceeded`` with a message for the person.
    """
    if not user.is_authenticated or not user.has_perm("videos.upload_video"):
        raise PermissionDenied("Your role may not upload videos.")
    path = Path(settings.MEDIA_ROOT) / folder
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    reserve = settings.MEDIA_FREE_RESERVE_BYTES
    if free - reserve < length:
        kept = f" (and {filesizeformat(reserve)} stays free for processing)" if reserve else ""
        raise StorageFull(
            f"The server has {filesizeformat(free)} free and this file needs {filesizeformat(length)}{kept}. "
            "Try again later, or tell your IT team."
        )
    quota = settings.UPLOAD_QUOTA_BYTES
    if quota:
        used = upload_usage(user)
        if used + length > quota:
            raise QuotaExceeded(
                f"This upload ({filesizeformat(length)}) would take you past your upload quota of "
                f"{filesizeformat(quota)}: you already hold {filesizeformat(used)} (stored videos and unfinished "
                "uploads). Delete videos you no longer need, or ask your IT team for more room.",
                used=used,
                length=length,
                quota=quota,
            )


def upload_start(*, request=None, user, filename: str, length: int, metadata: dict) -> Upload:
    """Begin a resumable upload (tus creation): the name, size, space and quota rules apply before any byte."""
    if not user.has_perm("videos.upload_video"):
        raise PermissionDenied("Your role may not upload videos.")
    filename = ingest.clean_name(filename)
    ingest.check_name(filename)
    ingest.check_size(length)
    try:
        with transaction.atomic():
            # One creation at a time per user, so two racing creations cannot both fit the quota.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            upload_admit(user=user, length=length)
            upload = Upload.objects.create(user=user, filename=filename, length=length, metadata=metadata)
            upload.path.parent.mkdir(parents=True, exist_ok=True)
            upload.path.touch()
            return upload
    except QuotaExceeded as refused:
        refused.record(user=user, request=request)
        raise


def upload_discard(*, upload: Upload) -> None:
    upload.path.unlink(missing_ok=True)
    Upload.objects.filter(pk=upload.pk).delete()


def uploads_purge_expired() -> int:
    """Delete unfinished uploads past their expiry, and any orphaned partial files."""
    count = 0
    for upload in Upload.objects.expired():
        upload_discard(upload=upload)
        count += 1
    # Finished uploads keep their row (for the client's final HEAD) for a day.
    Upload.objects.filter(completed_at__lt=timezone.now() - timedelta(days=1)).delete()
    folder = Path(settings.MEDIA_ROOT) / "uploads"
    if folder.is_dir():
        live = {f"{pk}.part" for pk in Upload.objects.values_list("id", flat=True)}
        for stray in folder.glob("*.part"):
            if stray.name not in live and stray.stat().st_mtime < time.time() - 3600:
                stray.unlink(missing_ok=True)
                count += 1
    tmp = Path(settings.MEDIA_ROOT) / "tmp"
    if tmp.is_dir():
        for stray in tmp.iterdir():
            if stray.is_file() and stray.stat().st_mtime < time.time() - 24 * 3600:
                stray.unlink(missing_ok=True)
    return count


# ------------------------------------------------------------------------------ workflow


def _transition(
    *, request, user, video: Video, to: str, allowed_from: frozenset[str], event: str, note: str = ""
) -> Video:
    if not video.can_review(user):
        raise PermissionDenied("Only approvers may publish, reject or archive videos.")
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        if video.status not in allowed_from:
            raise ValidationError(f"A {video.get_status_display().lower()} video cannot be {to}.", code="invalid_state")
        withdrawn = video.status == Video.Status.PUBLISHED and to != Video.Status.PUBLISHED
        video.status = to
        video.review_note = note[:500]
        fields = ["status", "review_note", "updated_at"]
        if to == Video.Status.PUBLISHED:
            video.published_at = timezone.now()
            fields.append("published_at")
        video.save(update_fields=fields)
        if withdrawn:
            # Every frame, playlist and key URL handed out while it was published stops working
            # (videos.revocation); those who may still see it get fresh ones from the pages.
            revocation.revoke_video(video.pk)
        trail.record(event, actor=user, video=str(video.uuid), note=video.review_note)
    return video


# Where each decision may be taken from (the review page offers only these).
PUBLISH_FROM = frozenset({Video.Status.PROCESSED, Video.Status.REJECTED, Video.Status.ARCHIVED})
REJECT_FROM = frozenset({Video.Status.PROCESSED, Video.Status.PUBLISHED})
ARCHIVE_FROM = frozenset({Video.Status.PUBLISHED, Video.Status.PROCESSED, Video.Status.REJECTED})


def video_publish(*, request, user, video: Video) -> Video:
    """Publish a video (approvers); the uploader is e-mailed after commit."""
    with transaction.atomic():
        video = _transition(
            request=request,
            user=user,
            video=video,
            to=Video.Status.PUBLISHED,
            allowed_from=PUBLISH_FROM,
            event=Event.VIDEO_PUBLISH,
        )
        _notify_uploader(request=request, reviewer=user, video=video, decision="published")
    return video


def video_reject(*, request, user, video: Video, reason: str = "") -> Video:
    """Reject a video with a reason (approvers); the uploader is e-mailed the reason after commit."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the video is rejected; the uploader will see it."})
    with transaction.atomic():
        video = _transition(
            request=request,
            user=user,
            video=video,
            to=Video.Status.REJECTED,
            allowed_from=REJECT_FROM,
            event=Event.VIDEO_REJECT,
            note=reason.strip(),
        )
        _notify_uploader(request=request, reviewer=user, video=video, decision="rejected")
    return video


def video_archive(*, request, user, video: Video) -> Video:
    return _transition(
        request=request,
        user=user,
        video=video,
        to=Video.Status.ARCHIVED,
        allowed_from=ARCHIVE_FROM,
        event=Event.VIDEO_ARCHIVE,
    )


def video_resubmit(*, request, user, video: Video, metadata: dict | None = None) -> Video:
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
            video_update(request=request, user=user, video=video, **metadata)
        video = Video.objects.select_for_update().get(pk=video.pk)
        if video.status != Video.Status.REJECTED:
            raise ValidationError(
                f"Only rejected videos can be resubmitted; this one is {video.get_status_display().lower()}.",
                code="invalid_state",
            )
        previous_note = video.review_note
        publish = not settings.VIDEOS_REQUIRE_APPROVAL
        video.status = Video.Status.PUBLISHED if publish else Video.Status.PROCESSED
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


# ------------------------------------------------------------------------------ review notices


def _site_url(path: str, request=None) -> str:
    """An absolute link for an e-mail: ``SITE_URL`` when set, else the request's host, else ``path``."""
    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    if base:
        return base + path
    if request is not None and hasattr(request, "build_absolute_uri"):
        return request.build_absolute_uri(path)
    return path


def _notify_uploader(*, request, reviewer, video: Video, decision: str) -> None:
    """After commit, e-mail the uploader a review decision (not when they decided it themselves)."""
    if video.uploader_id == reviewer.pk:
        return
    links = {
        "watch_url": _site_url(reverse("videos:watch", kwargs={"video_uuid": video.uuid}), request),
        "edit_url": _site_url(reverse("videos:edit", kwargs={"video_uuid": video.uuid}), request),
        "mine_url": _site_url(reverse("videos:mine"), request),
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


@transaction.atomic
def video_reprocess(*, request, user, video: Video) -> Video:
    """
    Queue a new transcode. The current ladder (if any) keeps serving until the new one is
    complete; a job already running for this video is superseded.
    """
    if not video.can_reprocess(user):
        raise PermissionDenied("You may not reprocess this video.")
    video = Video.objects.select_for_update().get(pk=video.pk)
    if not video.original_file or not video.original_file.exists():
        raise ValidationError("The original file is missing, so the video cannot be reprocessed.", code="no_original")
    video.job_token = uuid.uuid4()
    video.progress = 0
    video.heartbeat_at = None
    fields = ["job_token", "progress", "heartbeat_at", "updated_at"]
    if video.status in (Video.Status.FAILED, Video.Status.PROCESSING):
        video.status = Video.Status.PENDING
        video.failure_reason = ""
        fields += ["status", "failure_reason"]
    video.save(update_fields=fields)
    trail.record(Event.VIDEO_REPROCESS, actor=user, video=str(video.uuid))
    _enqueue_transcode(video)
    return video


def video_delete(*, request, user, video: Video) -> None:
    """Delete a video and, after commit, every file it has (original, ladder, images)."""
    if not video.can_delete(user):
        raise PermissionDenied("You may not delete this video.")
    paths = [video.hls_dir, video.original_file]
    with transaction.atomic():
        trail.record(Event.VIDEO_DELETE, actor=user, video=str(video.uuid), title=video.title)
        video.delete()
        transaction.on_commit(lambda: _remove_paths(paths))


def _remove_paths(paths) -> None:
    for path in paths:
        if path is None:
            continue
        if Path(path).is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            Path(path).unlink(missing_ok=True)


# ------------------------------------------------------------------------------ the job


class JobSuperseded(Exception):
    """Another job (reprocess) or the reaper took over this video."""


def _still_owner(video_id: int, token: uuid.UUID) -> bool:
    return Video.objects.filter(pk=video_id, job_token=token).exists()


def video_transcode(*, video_id: int, token: str) -> str:
    """
    The transcoding job: probe → poster → storyboard → one FFmpeg ladder → atomic swap.
    Only the job holding the video's current ``job_token`` may run and write results.
    Returns a short outcome for the job log.
    """
    token = uuid.UUID(str(token))
    with transaction.atomic():
        video = Video.objects.select_for_update().filter(pk=video_id, job_token=token).first()
        if video is None:
            return "superseded or deleted"
        now = timezone.now()
        video.heartbeat_at = now
        video.processing_started_at = now
        video.progress = 0
        fields = ["heartbeat_at", "processing_started_at", "progress"]
        if video.status == Video.Status.PENDING:
            video.status = Video.Status.PROCESSING
            fields.append("status")
        video.save(update_fields=fields)

    work = _work_dir(video, token)
    try:
        outcome = _transcode(video, token, work)
    except JobSuperseded:
        return "superseded"
    except transcoding.MediaError as error:
        # A truncated file's duration is where its stream ends: never list one it does not have.
        duration = error.ends_at if isinstance(error, transcoding.TruncatedMedia) else None
        _finish_failed(video_id, token, str(error), duration=duration)
        return f"failed: {error}"
    except OSError as error:
        if not is_storage_full(error):
            logger.exception("transcode crashed", extra={"video": str(video.uuid)})
            _finish_failed(video_id, token, f"Internal error while transcoding ({error.__class__.__name__}).")
            raise
        reason = transcoding.DISK_FULL_REASON
        _finish_failed(video_id, token, reason)
        return f"failed: {reason}"
    except Exception as error:
        logger.exception("transcode crashed", extra={"video": str(video.uuid)})
        _finish_failed(video_id, token, f"Internal error while transcoding ({error.__class__.__name__}).")
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return outcome


def _transcode(video: Video, token: uuid.UUID, work: Path) -> str:
    source = video.original_file
    if source is None or not source.exists():
        raise transcoding.MediaError("The original file is missing.")
    probe = transcoding.probe(source)
    rungs = transcoding.plan_ladder(probe)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    has_poster = _make_poster(source, work, probe)
    storyboard = transcoding.plan_storyboard(probe)
    _heartbeat(video.pk, token, progress=1)

    last_saved = [0.0]

    def on_progress(block: dict) -> None:
        percent = transcoding.parse_progress(block, probe.duration)
        now = time.monotonic()
        if percent is not None and now - last_saved[0] >= 2:
            last_saved[0] = now
            _heartbeat(video.pk, token, progress=max(1, percent))

    # The key URI is a placeholder that delivery.py replaces with a signed URL; the IV is random
    # (FFmpeg would otherwise use zero for every video). Key files stay off MEDIA_ROOT.
    key, iv = secrets.token_bytes(16), secrets.token_hex(16)
    with transcoding.key_info_file(key=key, iv=iv, uri=transcoding_key_placeholder()) as key_info:
        argv = transcoding.ladder_command(
            source=source,
            out_dir=work,
            probe=probe,
            rungs=rungs,
            key_info=key_info,
            preset=settings.TRANSCODE_PRESET,
            storyboard=storyboard,
        )
        with _heartbeat_thread(video.pk, token, work / rungs[-1].name, probe.duration):
            result = transcoding.run(
                argv, deadline=time.monotonic() + settings.TRANSCODE_TIMEOUT_SECONDS, on_progress=on_progress
            )
    if result.returncode != 0 or transcoding.out_of_space(result):
        raise transcoding.MediaError(transcoding.failure_reason(result))
    held = _check_ladder(work, rungs)
    transcoding.check_length(probe, held)
    has_storyboard = _finish_storyboard(work, storyboard, probe)
    if not _still_owner(video.pk, token):
        raise JobSuperseded
    _swap_into_place(work, video.hls_dir)
    _finish_ok(
        video.pk,
        token,
        key=key,
        iv=iv,
        rungs=rungs,
        duration=held,
        has_poster=has_poster,
        has_storyboard=has_storyboard,
    )
    return f"ok: {', '.join(rung.name for rung in rungs)}"


def transcoding_key_placeholder() -> str:
    from .delivery import KEY_PLACEHOLDER

    return KEY_PLACEHOLDER


def progress_from_segments(rung_dir: Path, duration: float) -> int:
    """Percent done judged by the segments FFmpeg has written for one rung (6 s each)."""
    if duration <= 0:
        return 1
    written = sum(1 for _ in rung_dir.glob("seg_*.ts"))
    return int(max(1, min(95, written * transcoding.SEGMENT_SECONDS / duration * 100)))


@contextmanager
def _heartbeat_thread(video_id: int, token: uuid.UUID, rung_dir: Path, duration: float):
    """
    Beat and report progress from a thread while FFmpeg runs. Its -progress output can stay
    silent for the whole encode (the storyboard branch holds the muxer's clock back), and a
    silent job would be reaped after TRANSCODE_STALL_SECONDS; the segments on disk tell how far
    it is. Only raises the saved progress, never lowers it.
    """
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(settings.TRANSCODE_HEARTBEAT_SECONDS):
                percent = progress_from_segments(rung_dir, duration)
                Video.objects.filter(pk=video_id, job_token=token).update(
                    progress=Greatest("progress", Value(percent)), heartbeat_at=timezone.now()
                )
        finally:
            db_connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{video_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _heartbeat(video_id: int, token: uuid.UUID, *, progress: int) -> None:
    # update() touches only these columns, so a user's title edit at the same moment survives.
    updated = Video.objects.filter(pk=video_id, job_token=token).update(progress=progress, heartbeat_at=timezone.now())
    if not updated:
        raise JobSuperseded


def _make_poster(source: Path, work: Path, probe: transcoding.Probe) -> bool:
    target = work / "poster.jpg"
    for at in (probe.duration * 0.1, 0):
        transcoding.run_simple(transcoding.poster_command(source=source, target=target, at=at), timeout=300)
        if target.exists() and target.stat().st_size > 0:
            return True
    return False


def _finish_storyboard(work: Path, plan: transcoding.StoryboardPlan, probe: transcoding.Probe) -> bool:
    """Join the tiles the ladder run wrote into the sprite sheet and write its cue file (or report there is none)."""
    tiles = sorted(work.glob(transcoding.STORYBOARD_TILES.replace("%05d", "[0-9]*")))
    if not tiles:
        return False
    sprite = work / "storyboard.jpg"
    command = transcoding.storyboard_sprite_command(tiles=work / transcoding.STORYBOARD_TILES, plan=plan, target=sprite)
    result = transcoding.run_simple(command, timeout=120)
    for tile in tiles:
        tile.unlink(missing_ok=True)
    if transcoding.out_of_space(result):
        raise transcoding.MediaError(transcoding.DISK_FULL_REASON)
    if result.returncode != 0 or not sprite.exists() or sprite.stat().st_size == 0:
        logger.warning("storyboard sprite failed", extra={"reason": transcoding.failure_reason(result)})
        sprite.unlink(missing_ok=True)
        return False
    (work / "storyboard.vtt").write_text(transcoding.storyboard_vtt(plan, duration=probe.duration))
    return True


def _check_ladder(work: Path, rungs) -> float:
    """Raise MediaError unless every playlist is complete; return the seconds the ladder holds."""
    master = work / "master.m3u8"
    if not master.exists():
        raise transcoding.MediaError("FFmpeg finished without writing the master playlist.")
    text = master.read_text()
    if text.count("#EXT-X-STREAM-INF") != len(rungs):
        raise transcoding.MediaError("The master playlist is incomplete.")
    for rung in rungs:
        playlist = work / rung.name / "index.m3u8"
        if not playlist.exists() or "#EXT-X-ENDLIST" not in playlist.read_text():
            raise transcoding.MediaError(f"The {rung.name} rung is incomplete.")
    # Every rung has the same segment boundaries (aligned GOPs); the top one speaks for all.
    return transcoding.playlist_seconds((work / rungs[0].name / "index.m3u8").read_text())


def _swap_into_place(work: Path, final: Path) -> None:
    """Replace the published ladder only now that the new one is complete."""
    old = final.with_name(f".old-{final.name}-{secrets.token_hex(4)}")
    if final.exists():
        os.replace(final, old)
    os.replace(work, final)
    shutil.rmtree(old, ignore_errors=True)


def _finish_ok(
    video_id, token, *, key: bytes, iv: str, rungs, duration: float, has_poster: bool, has_storyboard: bool
) -> None:
    """Record a complete ladder; ``duration`` is what it holds, which is what the video lists."""
    with transaction.atomic():
        video = Video.objects.select_for_update().filter(pk=video_id, job_token=token).first()
        if video is None:
            return
        fields = [
            "hls_key",
            "hls_iv",
            "duration",
            "has_poster",
            "has_storyboard",
            "progress",
            "job_token",
            "heartbeat_at",
            "processed_at",
            "failure_reason",
            "updated_at",
        ]
        video.hls_key, video.hls_iv = key, iv
        video.duration = duration
        video.has_poster, video.has_storyboard = has_poster, has_storyboard
        video.progress, video.job_token, video.heartbeat_at = 100, None, None
        video.processed_at = timezone.now()
        video.failure_reason = ""
        if video.status in (Video.Status.PENDING, Video.Status.PROCESSING, Video.Status.FAILED):
            publish = video.published_at is not None or not settings.VIDEOS_REQUIRE_APPROVAL
            video.status = Video.Status.PUBLISHED if publish else Video.Status.PROCESSED
            fields.append("status")
            if publish and video.published_at is None:
                video.published_at = timezone.now()
                fields.append("published_at")
        video.save(update_fields=fields)
        Rendition.objects.filter(video=video).delete()
        Rendition.objects.bulk_create(
            Rendition(
                video=video,
                name=rung.name,
                width=rung.width,
                height=rung.height,
                bandwidth=rung.bandwidth,
                codecs="avc1.640028,mp4a.40.2" if video.audio_codec else "avc1.640028",
            )
            for rung in rungs
        )


def _finish_failed(video_id, token, reason: str, *, duration: float | None = None) -> None:
    """
    Record a failed job. ``reason`` is shown to people, so server paths are taken out of it;
    ``duration`` (a truncated file's real length) replaces the probed one on a first encode.
    """
    with transaction.atomic():
        video = Video.objects.select_for_update().filter(pk=video_id, job_token=token).first()
        if video is None:
            return
        named = {str(video.original_file): "the recording"} if video.original_file else {}
        reason = transcoding.without_paths(reason, named=named)
        video.job_token, video.heartbeat_at = None, None
        fields = ["job_token", "heartbeat_at", "failure_reason", "updated_at"]
        if video.status in (Video.Status.PENDING, Video.Status.PROCESSING):
            video.status = Video.Status.FAILED
            video.failure_reason = reason[:500]
            fields += ["status"]
            if duration is not None:
                video.duration = duration
                fields.append("duration")
        else:
            # A reprocess of a playable video failed: the old ladder stays in service.
            video.failure_reason = f"Reprocessing failed: {reason}"[:500]
        video.save(update_fields=fields)


def _work_dir(video: Video, token: uuid.UUID) -> Path:
    """Where a job builds its ladder before the swap (never served)."""
    return Path(settings.MEDIA_ROOT) / "hls" / f".work-{video.uuid}-{token.hex[:8]}"


def videos_reap_stalled() -> int:
    """Mark jobs whose worker went silent (killed, crashed) as failed; reprocess recovers them."""
    cutoff = timezone.now() - timedelta(seconds=settings.TRANSCODE_STALL_SECONDS)
    reaped = 0
    for video in Video.objects.filter(job_token__isnull=False, heartbeat_at__lt=cutoff):
        shutil.rmtree(_work_dir(video, video.job_token), ignore_errors=True)  # the dead job's half ladder
        _finish_failed(
            video.pk,
            video.job_token,
            "The transcoding worker stopped responding (it was stopped or crashed). Use “reprocess” to try again.",
        )
        reaped += 1
    return reaped
