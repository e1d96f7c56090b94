"""
Replacing a video's recording (issue #15): a rejected case asks for "the actual recording", so
its owner (or an Editor) may send a new file for the same video. The id, the details and the
review history stay; the old file's name, size and MD5 go into the audit trail; the new file is
transcoded by the usual job, and the old ladder keeps serving until the new one is swapped in
(videos.services.transcode: the job token and the atomic swap).

Two doors send the file: one multipart POST (``video_replace_original``), or a resumable (tus)
upload whose metadata names the video as ``replaces`` (``replacement_target`` when it is
created, ``video_replace_from_upload`` when its last byte lands), which the page uses: a
recording of several GB does not fit one POST.
"""

import os
import uuid
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit import trail
from audit.models import AuditEvent

from .. import ingest, storage
from ..models import Video
from .transcode import transcode_enqueue


def replacement_check(*, user, video: Video, field: str = "file") -> None:
    """Whether ``user`` may replace the recording of ``video`` now (owner or editor, not while it is processed)."""
    if not video.can_edit(user):
        raise PermissionDenied("Only the owner or an editor may replace the recording.")
    if video.is_working:
        raise ValidationError({field: "The video is still being processed; replace it when that is done."})


def replacement_target(*, user, video_uuid) -> Video:
    """
    The video a resumable upload's ``replaces`` names, if ``user`` may replace its recording now;
    refusals name ``replaces``. An id that is no video and one ``user`` may not see are refused
    alike, so the refusal does not tell whether the video exists.
    """
    try:
        video = Video.objects.visible_to(user).get(uuid=video_uuid)
    except (Video.DoesNotExist, ValidationError, ValueError):
        raise ValidationError({"replaces": "There is no video with this id that you may see."}) from None
    replacement_check(user=user, video=video, field="replaces")
    return video


def video_replace_from_upload(*, user, replaces, path: Path, filename: str, md5: str, size: int) -> Video:
    """
    The last byte of a resumable upload naming ``replaces`` landed: the video is asked for again
    (it may have changed since the upload began), then its recording replaced; ``path`` is consumed.
    """
    try:
        video = replacement_target(user=user, video_uuid=replaces)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise
    return video_replace_original(user=user, video=video, path=path, filename=filename, md5=md5, size=size)


def video_replace_original(*, user, video: Video, path: Path, filename: str, md5: str, size: int) -> Video:
    """Make ``path`` (consumed: moved into originals/, or deleted on a refusal) the recording of ``video``."""
    try:
        replacement_check(user=user, video=video)
        filename = ingest.clean_name(filename)
        probe = ingest.check_file(path, filename)
        if md5 == video.md5 and size == video.size_bytes:
            raise ValidationError({"file": "This is the recording the video already has."})
        if Video.objects.filter(md5=md5, size_bytes=size).exclude(pk=video.pk).exists():
            raise ValidationError({"file": "An identical recording is already another video in the library."})
        target = storage.originals_dir() / f"{video.uuid}-{uuid.uuid4().hex[:8]}.{ingest.extension_of(filename)}"
        with transaction.atomic():
            video = Video.objects.select_for_update().get(pk=video.pk)
            previous = {"name": video.original_name, "size": video.size_bytes, "md5": video.md5}
            old_file = video.original_file
            video.original_path = str(target.relative_to(storage.media_root()))
            video.original_name, video.size_bytes, video.md5 = filename, size, md5
            video.duration, video.width, video.height = probe.duration, probe.width, probe.height
            video.frame_rate = round(probe.frame_rate, 3)
            video.video_codec, video.audio_codec = probe.video_codec, probe.audio_codec or ""
            video.container, video.extra_video_streams = probe.format_name[:80], list(probe.other_video)
            video.job_token, video.progress, video.heartbeat_at = uuid.uuid4(), 0, None
            fields = ["original_path", "original_name", "size_bytes", "md5", "duration", "width", "height"]
            fields += ["frame_rate", "video_codec", "audio_codec", "container", "extra_video_streams"]
            video.save(update_fields=[*fields, "job_token", "progress", "heartbeat_at", "updated_at"])
            os.replace(path, target)
            trail.record(
                AuditEvent.Event.VIDEO_EDIT,
                actor=user,
                video=str(video.uuid),
                fields=["original"],
                previous=previous,
                size=size,
                name=filename,
            )
            transcode_enqueue(video=video)
            if old_file is not None and old_file != target:
                # The old ladder does not read its original: it can go once this is committed.
                transaction.on_commit(lambda: old_file.unlink(missing_ok=True))
        return video
    finally:
        Path(path).unlink(missing_ok=True)
