"""
Recordings coming into the library, and going out of it.

Before the first byte: ``upload_admit`` (the right to upload, free space, the user's quota).
Resumable (tus) uploads: ``upload_start``, ``upload_append`` (bytes at an offset, the offset
and the MD5 state saved whatever happens, the head sniffed), ``upload_discard`` and the
hourly ``uploads_purge_expired``. Both tus and multipart uploads end in ``upload_complete``:
the received file becomes a video, or turns out to be one the caller already may see; a tus
upload whose metadata ``replaces`` a video ends in ``replacement.video_replace_from_upload``.
``video_delete`` takes a video out with every file it has. The tus view
(``videos/api/tus.py``) only speaks the protocol; the multipart view only parses the body.
"""

import fcntl
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from core.errors import Refused, StorageFull, is_storage_full

from .. import ingest, storage
from ..hashing import ResumableMD5, available, md5_of_file
from ..models import Upload, Video
from . import replacement
from .metadata import metadata_apply, metadata_clean, metadata_given
from .transcode import transcode_enqueue

Event = AuditEvent.Event
CHUNK = 1024 * 1024


class DuplicateVideo(Exception):
    """The same content is already in the library and the caller may see it."""

    def __init__(self, video: Video):
        super().__init__(str(video.uuid))
        self.video = video


class QuotaExceeded(Refused):
    """The user's uploads would pass ``UPLOAD_QUOTA_BYTES`` (the API answers 413 with ``message``)."""

    status = 413

    def __init__(self, message: str, *, used: int, length: int, quota: int):
        super().__init__(message)
        self.used, self.length, self.quota = used, length, quota


class UploadConflict(Refused):
    """The bytes do not start where the upload is, or it is already complete."""

    status = 409


class UploadBusy(Refused):
    """Another request is writing to the same upload."""

    status = 423


class UploadExpired(Refused):
    """An unfinished upload past its expiry (it has just been discarded)."""

    status = 410


# ------------------------------------------------------------------------------ admission


def upload_usage(user) -> int:
    """Bytes ``user`` holds on the media disk: unfinished uploads (their full length) and stored originals."""
    in_flight = Upload.objects.filter(user=user, completed_at__isnull=True).aggregate(total=Sum("length"))["total"]
    stored = Video.objects.filter(uploader=user).aggregate(total=Sum("size_bytes"))["total"]
    return (in_flight or 0) + (stored or 0)


def _admit(*, user, length: int, folder: Path) -> None:
    if not user.is_authenticated or not user.has_perm("videos.upload_video"):
        raise PermissionDenied("Your role may not upload videos.")
    free = shutil.disk_usage(folder).free
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


def _audit_quota_refused(user, refused: QuotaExceeded) -> None:
    # Outside the transaction that the refusal rolls back.
    trail.record(
        Event.QUOTA_REFUSED, actor=user, target=user, used=refused.used, length=refused.length, quota=refused.quota
    )


def upload_admit(*, user, length: int, folder: Path | None = None) -> None:
    """
    Whether ``user`` may start sending ``length`` bytes into ``folder`` (the uploads folder by
    default), decided before the first byte lands: the upload permission, the free space on
    the media disk and the user's quota. Raises ``PermissionDenied``, ``StorageFull`` or
    ``QuotaExceeded`` (audited) with a message for the person.
    """
    try:
        _admit(user=user, length=length, folder=folder or storage.uploads_dir())
    except QuotaExceeded as refused:
        _audit_quota_refused(user, refused)
        raise


# ------------------------------------------------------------------------------ resumable uploads


def upload_start(*, user, filename: str, length: int, metadata: dict) -> Upload:
    """
    Begin a resumable upload (tus creation). The name, size, space and quota rules, and the
    video's metadata (``metadata`` also keeps the client's other keys), are checked before
    any byte is sent.
    """
    if not user.has_perm("videos.upload_video"):
        raise PermissionDenied("Your role may not upload videos.")
    filename = ingest.clean_name(filename)
    ingest.check_name(filename)
    ingest.check_size(length)
    # Checked again on completion, when the catalogue (or the video replaced) may have changed.
    if "replaces" in metadata:
        replacement.replacement_target(user=user, video_uuid=metadata["replaces"])
        if given := metadata_given(metadata):
            raise ValidationError(
                {"replaces": f"A replacement keeps the video's details; edit them on the video ({', '.join(given)})."}
            )
    else:
        metadata_clean(user=user, data=metadata_given(metadata))
    try:
        with transaction.atomic():
            # One creation at a time per user, so two racing creations cannot both fit the quota.
            get_user_model().objects.select_for_update().filter(pk=user.pk).first()
            _admit(user=user, length=length, folder=storage.uploads_dir())
            upload = Upload.objects.create(user=user, filename=filename, length=length, metadata=metadata)
            upload.path.touch()
            return upload
    except QuotaExceeded as refused:
        _audit_quota_refused(user, refused)
        raise


def upload_resume(*, user, upload_id) -> Upload:
    """
    ``user``'s upload ``upload_id`` (``Upload.DoesNotExist`` if they have none of that id).
    An unfinished one past its expiry is discarded and refused (``UploadExpired``).
    """
    upload = Upload.objects.get(pk=upload_id, user=user)
    if upload.is_expired:
        upload_discard(upload=upload)
        raise UploadExpired("This upload has expired; start again.")
    return upload


def _write_all(handle, data: bytes) -> None:
    """Write every byte to an unbuffered file (a raw write may take only part)."""
    view = memoryview(data)
    while view:
        view = view[handle.write(view) :]


def upload_append(*, upload: Upload, offset: int, stream) -> Upload:
    """
    Append the bytes ``stream`` holds (read in 1 MiB chunks, never held whole) at ``offset``,
    which must be where the upload is. The offset and the MD5 state are saved whatever
    happens — a dropped connection, a full disk — so the client resumes from the last byte
    stored, whichever worker process receives it. Once the first bytes are in, libmagic
    checks them. When the last byte lands, the upload is completed (``upload_complete``).

    Raises ``UploadConflict`` (wrong offset, already complete), ``UploadBusy`` (another
    request is writing), ``StorageFull`` (kept at the last whole chunk), ``ValidationError``
    (a refused file: the upload is discarded; a body longer than the upload) and
    ``Upload.DoesNotExist`` (discarded meanwhile).
    """
    if upload.completed_at is not None:
        raise UploadConflict("This upload is already complete.")
    try:
        # Unbuffered, so the saved offset is what reached the disk even when it fills up.
        handle = open(upload.path, "r+b", buffering=0)  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:  # discarded meanwhile by another request (termination, a refused file)
        raise Upload.DoesNotExist("This upload was discarded.") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadBusy("Another request is writing to this upload.") from None
        upload.refresh_from_db()
        if offset != upload.offset:
            raise UploadConflict(f"Upload-Offset {offset} does not match the server's {upload.offset}.")
        _receive(upload, handle, stream)
    if upload.offset == upload.length:
        _finish(upload)
    return upload


def _receive(upload: Upload, handle, stream) -> None:
    """Append ``stream`` at the upload's offset; save offset and hash state whatever happens."""
    digest = ResumableMD5(upload.md5_state) if available() and (upload.md5_state or not upload.offset) else None
    start = position = upload.offset
    handle.seek(position)
    head_checked = position >= ingest.SNIFF_BYTES
    try:
        while position < upload.length:
            chunk = stream.read(min(CHUNK, upload.length - position))
            if not chunk:
                break
            try:
                _write_all(handle, chunk)
            except OSError as error:
                if not is_storage_full(error):
                    raise
                # The offset and hash state stay at the last whole chunk (the part of this
                # one that landed is cut off below); the client resumes from there.
                raise StorageFull(
                    f"The server's storage is full. The upload is kept at byte {position}; "
                    "resume it later, or tell your IT team."
                ) from None
            if digest is not None:
                digest.update(chunk)
            position += len(chunk)
            if not head_checked and (position >= ingest.SNIFF_BYTES or position == upload.length):
                head_checked = True
                handle.flush()
                _sniff(upload, handle)
        if position == upload.length and stream.read(1):
            raise ValidationError("The request body is longer than Upload-Length.")
    finally:
        handle.flush()
        handle.truncate(position)
        state = digest.state() if digest is not None else None
        Upload.objects.filter(pk=upload.pk, offset=start).update(offset=position, md5_state=state)
        upload.offset, upload.md5_state = position, state


def _sniff(upload: Upload, handle) -> None:
    handle.seek(0)
    head = handle.read(ingest.SNIFF_BYTES)
    handle.seek(0, 2)
    try:
        ingest.check_sniff(head, ingest.extension_of(upload.filename))
    except ValidationError:
        upload_discard(upload=upload)
        raise


def _finish(upload: Upload) -> None:
    """
    The last byte landed: the upload becomes a video (or finds its duplicate), or the new
    recording of the video its metadata ``replaces``; a refusal deletes it.
    """
    md5 = ResumableMD5(upload.md5_state).hexdigest() if upload.md5_state and available() else md5_of_file(upload.path)
    file = {"path": upload.path, "filename": upload.filename, "md5": md5, "size": upload.length}
    try:
        if "replaces" in upload.metadata:
            video = replacement.video_replace_from_upload(
                user=upload.user, replaces=upload.metadata["replaces"], **file
            )
            completed = Completed(video, duplicate=False)
        else:
            completed = upload_complete(user=upload.user, metadata=upload.metadata, **file)
    except Exception:
        Upload.objects.filter(pk=upload.pk).delete()
        raise
    # The row stays (for the client's final HEAD) for a day; see uploads_purge_expired.
    upload.completed_at, upload.video, upload.duplicate = timezone.now(), completed.video, completed.duplicate
    upload.md5_state = None
    upload.save(update_fields=["completed_at", "video", "duplicate", "md5_state"])


def upload_discard(*, upload: Upload) -> None:
    """Abandon an upload: its bytes and its row."""
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
    live = {storage.upload_file(pk).name for pk in Upload.objects.values_list("id", flat=True)}
    for stray in storage.uploads_dir().glob("*.part"):
        if stray.name not in live and stray.stat().st_mtime < time.time() - 3600:
            stray.unlink(missing_ok=True)
            count += 1
    for stray in storage.tmp_dir().iterdir():
        if stray.is_file() and stray.stat().st_mtime < time.time() - 24 * 3600:
            stray.unlink(missing_ok=True)
    return count


# ------------------------------------------------------------------------------ a received file becomes a video


@dataclass(frozen=True)
class Completed:
    video: Video
    duplicate: bool  # identical content was already in the library: ``video`` is that one


# What the apps above read from an upload's fields (governance: consent). Each registered
# ``extra(*, user, data)`` checks its fields (ValidationError naming them) and returns what to
# do with the new video (``step(video)``, in the transaction that creates it) or None.
_upload_extras: list = []


def register_upload_extra(extra) -> None:
    """Have ``upload_extras_clean`` ask ``extra`` too (once)."""
    if extra not in _upload_extras:
        _upload_extras.append(extra)


def upload_extras_clean(*, user, data) -> list:
    """The steps the registered extras take for an upload's ``data``; raises their ``ValidationError``s."""
    return [step for extra in _upload_extras if (step := extra(user=user, data=data)) is not None]


def upload_complete(
    *, user, path: Path, filename: str, md5: str, size: int, metadata: dict | None = None, then: list | None = None
) -> Completed:
    """
    What every upload ends in (the last tus PATCH, a multipart body): the received file at
    ``path`` becomes a queued video, or is the content of one ``user`` may already see. Raises
    like ``video_create_from_file``, except for that duplicate. ``then``: the steps of
    ``upload_extras_clean``, for a new video only.
    """
    try:
        video = video_create_from_file(
            user=user, path=path, filename=filename, md5=md5, size=size, metadata=metadata, then=then
        )
    except DuplicateVideo as duplicate:
        return Completed(duplicate.video, duplicate=True)
    return Completed(video, duplicate=False)


def video_create_from_file(
    *, user, path: Path, filename: str, md5: str, size: int, metadata: dict | None = None, then: list | None = None
) -> Video:
    """
    Turn a fully received file into a queued video. ``path`` is consumed: moved into
    ``originals/`` on success, deleted on any refusal, so nothing is left behind. Only the
    metadata fields of ``metadata`` that carry a value count (``metadata_given``).
    Raises ``ValidationError`` (a rule failed), ``DuplicateVideo`` (same content, visible to
    the caller) or ``PermissionDenied``.
    """
    try:
        if not user.has_perm("videos.upload_video"):
            raise PermissionDenied("Your role may not upload videos.")
        filename = ingest.clean_name(filename)
        clean = metadata_clean(user=user, data=metadata_given(metadata or {}))
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
            extra_video_streams=list(probe.other_video),
            job_token=uuid.uuid4(),
        )
        target = storage.originals_dir() / f"{video.uuid}.{extension}"
        try:
            with transaction.atomic():
                video.original_path = str(target.relative_to(storage.media_root()))
                video.save()
                metadata_apply(video, clean)
                for step in then or ():
                    step(video)
                os.replace(path, target)
                trail.record(Event.VIDEO_UPLOAD, actor=user, video=str(video.uuid), size=size, name=video.original_name)
                transcode_enqueue(video=video)
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


# ------------------------------------------------------------------------------ going out


# What must hold before a video may be deleted, registered by the apps that know (governance:
# nothing under legal hold): each check returns the reasons, in words for people, it may not.
_delete_checks: list = []


def register_delete_check(check) -> None:
    """Have every deletion (API, admin, an app's own job) wait for ``check(video) == []``."""
    if check not in _delete_checks:
        _delete_checks.append(check)


def delete_blockers(video: Video) -> list[str]:
    """Why ``video`` may not be deleted whoever asks (empty: it may)."""
    return [reason for check in _delete_checks for reason in check(video)]


class DeleteBlocked(Refused, ValidationError):
    """Deletion refused whoever asks (a legal hold): the API answers 409 naming the reasons."""

    status = 409

    def __init__(self, reasons: list[str]):
        message = "This video cannot be deleted: " + "; ".join(reasons)
        Refused.__init__(self, message, code="delete_blocked")
        ValidationError.__init__(self, message, code="delete_blocked")
        self.reasons = reasons


def video_delete(*, user, video: Video) -> None:
    """
    Delete a video and, after commit, every file it has (original, ladder, images, a job's
    remux), unless a registered delete check refuses (``DeleteBlocked``), asked again under
    the row lock so a hold set a moment before still counts.
    """
    if not video.can_delete(user):
        raise PermissionDenied("You may not delete this video.")
    with transaction.atomic():
        video = Video.objects.select_for_update().get(pk=video.pk)
        if reasons := delete_blockers(video):
            raise DeleteBlocked(reasons)
        paths = [video.hls_dir, video.original_file]
        if video.job_token:
            paths.append(storage.mezzanine_file(video.job_token))
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
