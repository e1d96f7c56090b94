"""
The transcoding job and its orchestration: queueing it (after an upload, on reprocess), the
job itself — probe → poster → one FFmpeg ladder with the storyboard tiles → checks → atomic
swap — and the reaper of jobs whose worker died.

What FFmpeg is asked and what its output means is ``videos.transcoding``'s (no ORM there);
this module owns the video row while the job runs. Only the job holding the video's current
``job_token`` may write results: a reprocess or the reaper hands the video to another token,
and the old job finds out at its next heartbeat and stops (``JobSuperseded``). Heartbeats and
progress are ``update()``s of their own columns, so a user's title edit at the same moment
survives.
"""

import logging
import os
import secrets
import shutil
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Greatest
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from core.errors import is_storage_full

from .. import storage, transcoding
from ..models import Rendition, Video

logger = logging.getLogger(__name__)


class JobSuperseded(Exception):
    """Another job (reprocess) or the reaper took over this video."""


def transcode_enqueue(*, video: Video) -> None:
    """Queue the job after commit (the worker must find the row), by id and token."""
    from django_q.tasks import async_task

    video_id, token, name = video.pk, str(video.job_token), f"transcode-{video.uuid}"[:100]
    # The transcode queue (settings.Q_TRANSCODE_CLUSTER), so short jobs never wait behind an encode.
    transaction.on_commit(
        lambda: async_task(
            "videos.tasks.transcode", video_id, token, task_name=name, cluster=settings.Q_TRANSCODE_CLUSTER
        )
    )


@transaction.atomic
def video_reprocess(*, user, video: Video) -> Video:
    """
    Queue a new transcode. The current ladder (if any) keeps serving until the new one is
    complete; a job already running for this video is superseded. ``user`` None is the
    operator of a management command: no right to check, and the audit names no one.
    """
    if user is not None and not video.can_reprocess(user):
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
    trail.record(AuditEvent.Event.VIDEO_REPROCESS, actor=user, video=str(video.uuid))
    transcode_enqueue(video=video)
    return video


# ------------------------------------------------------------------------------ the job


def video_transcode(*, video_id: int, token: str) -> str:
    """
    The transcoding job (videos.tasks.transcode). Only the job holding the video's current
    ``job_token`` may run and write results. Returns a short outcome for the job log.
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

    work = storage.work_dir(video.uuid, token)
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

    has_poster = transcoding.make_poster(source=source, target=work / "poster.jpg", probe=probe)
    storyboard = transcoding.plan_storyboard(probe)
    _heartbeat(video.pk, token, progress=1)

    last_saved = [0.0]

    def on_progress(block: dict) -> None:
        percent = transcoding.parse_progress(block, probe.duration)
        now = time.monotonic()
        if percent is not None and now - last_saved[0] >= 2:
            last_saved[0] = now
            _heartbeat(video.pk, token, progress=max(1, percent))

    # A random IV (FFmpeg would otherwise use zero for every video); key files stay off MEDIA_ROOT.
    key, iv = secrets.token_bytes(16), secrets.token_hex(16)
    with transcoding.key_info_file(key=key, iv=iv) as key_info:
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
    held = transcoding.check_ladder(work, rungs)
    transcoding.check_length(probe, held)
    has_storyboard = transcoding.join_storyboard(work, storyboard, duration=probe.duration)
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


def _still_owner(video_id: int, token: uuid.UUID) -> bool:
    return Video.objects.filter(pk=video_id, job_token=token).exists()


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
                percent = transcoding.progress_from_segments(rung_dir, duration)
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
        codecs = transcoding.rung_codecs(audio=bool(video.audio_codec))
        Rendition.objects.bulk_create(
            Rendition(
                video=video,
                name=rung.name,
                width=rung.width,
                height=rung.height,
                bandwidth=rung.bandwidth,
                codecs=codecs,
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


def videos_reap_stalled() -> int:
    """Mark jobs whose worker went silent (killed, crashed) as failed; reprocess recovers them."""
    cutoff = timezone.now() - timedelta(seconds=settings.TRANSCODE_STALL_SECONDS)
    reaped = 0
    for video in Video.objects.filter(job_token__isnull=False, heartbeat_at__lt=cutoff):
        shutil.rmtree(storage.work_dir(video.uuid, video.job_token), ignore_errors=True)  # the dead job's half ladder
        _finish_failed(
            video.pk,
            video.job_token,
            "The transcoding worker stopped responding (it was stopped or crashed). Use “reprocess” to try again.",
        )
        reaped += 1
    return reaped
