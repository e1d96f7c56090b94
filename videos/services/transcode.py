"""
The transcoding job, in chunks (issue #14): queueing it (after an upload, on reprocess), the
planning task, the chunk tasks any idle transcode worker takes, assembling the growing ladder,
finishing it, and the reaper.

    transcode_enqueue ─► video_transcode (plans) ─► chunk tasks (timeline order, a window at a time)
                                                      └─► chunk_done ─► playlists grow ─► finish

- The planning task probes the source, plans the ladder and the chunks (``transcoding.
  plan_chunks``), writes the master playlist and the poster, draws the AES key, records a
  ``TranscodeJob`` with one ``TranscodeChunk`` per stretch (and one for the audio), and queues
  the first chunks. Chunks are queued a window at a time (``TRANSCODE_QUEUED_CHUNKS``), in
  timeline order (the first chunk, then the audio, then the rest): each finished chunk queues
  the next, so another video's job gets its turn between two chunks of a six-hour case.
  What recorders write is settled here, once for every chunk (issue #14 item 7): an MPEG-TS
  original is remuxed into a continuous, indexed mezzanine the chunks read instead
  (``storage.mezzanine_file``, gone with the job); interlacing (idet) and a variable frame
  rate's nominal rate are decided and kept in the plan's probe; other video streams are
  recorded on the video. A source that already is the top rung is copied for it instead of
  encoded (item 5, ``TRANSCODE_COPY_COMPLIANT``).
- A chunk task claims its chunk (queued → running, under the job's token), runs one FFmpeg for
  every rung of its stretch (``transcoding.chunk_command``) with a heartbeat, and records it
  done. Every finished chunk rewrites each rung's playlist to list the contiguous finished
  prefix: an EVENT playlist that players follow as it grows (a first encode is built where it
  is served, so it plays while it is made: ``Video.ready_seconds``); the last one makes them VOD
  with ENDLIST, checks the ladder, joins the storyboard and records the video processed.
- A reprocess of a video that has a ladder builds the new one beside it (``storage.work_dir``)
  with a new key, and swaps it in only when complete: the old ladder serves until then.
- A chunk whose FFmpeg fails is tried once more, then fails the video with a reason naming its
  time range. A worker that dies mid-chunk loses only that chunk: the reaper queues it again
  (three times at most). A stop signal (SIGTERM) puts the chunk in flight back in the queue at
  once and ends its FFmpeg.

Only the job holding the video's current ``job_token`` may write: a reprocess or the reaper
hands the video to another token, and the old job's chunks find out when they next write.
Heartbeats and progress are ``update()``s of their own columns, so a user's title edit at the
same moment survives. What FFmpeg is asked and what its output means is ``videos.transcoding``'s.
"""

import dataclasses
import json
import logging
import multiprocessing
import os
import resource
import secrets
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from core.errors import is_storage_full

from .. import ingest, signals, storage, transcoding
from ..models import Rendition, TranscodeChunk, TranscodeJob, Video
from . import review

logger = logging.getLogger(__name__)

Chunk = TranscodeChunk
# A chunk whose FFmpeg fails this often fails the video; a chunk whose worker dies this often too.
MAX_FAILURES = 2
MAX_ATTEMPTS = 3


class JobSuperseded(Exception):
    """Another job (reprocess) or the reaper took over this video."""


class WorkerStopping(Exception):
    """The worker was asked to stop (SIGTERM) while a chunk was being encoded."""


# ------------------------------------------------------------------------------ queueing


def transcode_enqueue(*, video: Video, redo: list[tuple[float, float]] | None = None) -> None:
    """
    Queue the planning task after commit (the worker must find the row), by id and token.
    ``redo``: only the chunks touching these stretches need encoding (``video_reprocess``).
    """
    from django_q.tasks import async_task

    video_id, token, name = video.pk, str(video.job_token), f"transcode-{video.uuid}"[:100]
    args = (video_id, token) if redo is None else (video_id, token, [[float(a), float(b)] for a, b in redo])
    # The transcode queue (settings.Q_TRANSCODE_CLUSTER), so short jobs never wait behind an encode.
    transaction.on_commit(
        lambda: async_task("videos.tasks.transcode", *args, task_name=name, cluster=settings.Q_TRANSCODE_CLUSTER)
    )


def _queue_chunk(chunk_id: int, token: uuid.UUID, name: str) -> None:
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task(
            "videos.tasks.transcode_chunk",
            chunk_id,
            str(token),
            task_name=name[:100],
            cluster=settings.Q_TRANSCODE_CLUSTER,
        )
    )


def _queue_order(chunk: TranscodeChunk) -> tuple:
    """The first chunk, then the audio (the start plays as soon as both are in), then the rest."""
    return (chunk.index + (0.5 if chunk.kind == Chunk.Kind.AUDIO else 0), chunk.kind)


def _queue_more(job: TranscodeJob) -> int:
    """Queue waiting chunks, in timeline order, until ``TRANSCODE_QUEUED_CHUNKS`` are queued or running."""
    busy = job.chunks.filter(status__in=[Chunk.Status.QUEUED, Chunk.Status.RUNNING]).count()
    room = settings.TRANSCODE_QUEUED_CHUNKS - busy
    queued = 0
    if room <= 0:
        return 0
    for chunk in sorted(job.chunks.filter(status=Chunk.Status.WAITING), key=_queue_order):
        if queued >= room:
            break
        # Two chunks finishing at once both look for more: each chunk is queued by one of them.
        if Chunk.objects.filter(pk=chunk.pk, status=Chunk.Status.WAITING).update(
            status=Chunk.Status.QUEUED, queued_at=timezone.now()
        ):
            _queue_chunk(chunk.pk, job.token, f"{chunk.kind}-{chunk.index}-{job.video.uuid}")
            queued += 1
    return queued


@transaction.atomic
def video_reprocess(*, user, video: Video, redo: list[tuple[float, float]] | None = None) -> Video:
    """
    Queue a new transcode. The current ladder (if any) keeps serving until the new one is
    complete; a job already running for this video is superseded. ``user`` None is the
    operator of a management command (or an app above: privacy applying its decisions): no
    right to check, and the audit names no one.

    ``redo``: what changed is only the picture in these stretches of the source (an app above
    changed its picture edit there, ``register_picture_provider``). The new ladder then takes
    every other chunk from the served one when that was made by the same plan (``_reuse``),
    and encodes only the chunks touching them.
    """
    if user is not None and not video.can_reprocess(user):
        raise PermissionDenied("You may not reprocess this video.")
    video = Video.objects.select_for_update().get(pk=video.pk)
    if not video.original_path:
        raise ValidationError(
            "The uploaded original of this video has been deleted (originals retention), so it cannot be "
            "reprocessed; the published ladder keeps playing.",
            code="no_original",
        )
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
    transcode_enqueue(video=video, redo=redo)
    return video


# ------------------------------------------------------------------------------ planning


@dataclasses.dataclass(frozen=True)
class Plan:
    """
    What every chunk of a job shares (kept as JSON on the job). ``probe`` is of the file the
    chunks read, with the planner's findings (interlace, nominal rate); ``mezzanine`` says
    that file is the job's remux of an MPEG-TS original (``storage.mezzanine_file``), not the
    original; ``copy`` is each chunk's cut when the top rung is the source's own stream.
    """

    probe: transcoding.Probe
    rungs: list[transcoding.Rung]
    storyboard: transcoding.StoryboardPlan
    has_poster: bool
    mezzanine: bool = False
    copy: list[transcoding.CopyCut] | None = None
    # An app's edit of the picture (``register_picture_provider``): the filter graph every chunk
    # applies, and what it stands for (the app's own words, kept so a later job can compare).
    picture: str = ""
    picture_spec: dict | None = None

    def as_json(self) -> dict:
        return {
            "probe": dataclasses.asdict(self.probe),
            "rungs": [dataclasses.asdict(rung) for rung in self.rungs],
            "storyboard": dataclasses.asdict(self.storyboard),
            "has_poster": self.has_poster,
            "mezzanine": self.mezzanine,
            "copy": None if self.copy is None else [[cut.start, cut.frames] for cut in self.copy],
            "picture": self.picture,
            "picture_spec": self.picture_spec,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Plan":
        probe = dict(data["probe"])
        probe["other_video"] = tuple(probe.get("other_video") or ())
        copy = data.get("copy")
        return cls(
            probe=transcoding.Probe(**probe),
            rungs=[transcoding.Rung(**rung) for rung in data["rungs"]],
            storyboard=transcoding.StoryboardPlan(**data["storyboard"]),
            has_poster=data["has_poster"],
            mezzanine=data.get("mezzanine", False),
            copy=None if copy is None else [transcoding.CopyCut(start, frames) for start, frames in copy],
            picture=data.get("picture", ""),
            picture_spec=data.get("picture_spec"),
        )

    def source(self, job: TranscodeJob) -> Path | None:
        """The file ``job``'s chunks read."""
        return storage.mezzanine_file(job.token) if self.mezzanine else transcode_source(job.video)


def job_dir(job: TranscodeJob) -> Path:
    """Where ``job`` writes: the served folder for a first encode, a work folder for a reprocess."""
    video_uuid = job.video.uuid
    return storage.hls_dir(video_uuid) if job.in_place else storage.work_dir(video_uuid, job.token)


def video_transcode(*, video_id: int, token: str, redo: list[list[float]] | None = None) -> str:
    """
    The planning task (videos.tasks.transcode). Only the job holding the video's current
    ``job_token`` may run; ``redo`` as for ``video_reprocess``. Returns a short outcome for the job log.
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
    try:
        job = _plan(video, token, redo=redo)
    except JobSuperseded:
        _drop_mezzanine(token)
        return "superseded"
    except transcoding.MediaError as error:
        duration = error.ends_at if isinstance(error, transcoding.TruncatedMedia) else None
        _finish_failed(video_id, token, str(error), duration=duration)
        return f"failed: {error}"
    except OSError as error:
        if not is_storage_full(error):
            logger.exception("transcode planning crashed", extra={"video": str(video.uuid)})
            _finish_failed(video_id, token, f"Internal error while transcoding ({error.__class__.__name__}).")
            raise
        _finish_failed(video_id, token, transcoding.DISK_FULL_REASON)
        return f"failed: {transcoding.DISK_FULL_REASON}"
    except Exception as error:
        logger.exception("transcode planning crashed", extra={"video": str(video.uuid)})
        _finish_failed(video_id, token, f"Internal error while transcoding ({error.__class__.__name__}).")
        raise
    kept = job.chunks.filter(status=Chunk.Status.DONE).count()
    outcome = f"planned: {job.chunks.count()} part(s), {', '.join(rung['name'] for rung in job.plan['rungs'])}"
    if kept:
        outcome += f", {kept} taken from the served ladder"
        if not job.chunks.exclude(status=Chunk.Status.DONE).exists():
            return f"{outcome}; {chunk_done(job_id=job.pk)}"
    return outcome


# What a transcode reads instead of the uploaded original, registered by the apps above that
# make one (privacy: the recording with its redaction decisions rendered in, issue #17), so
# every rung, the poster and the storyboard come from it. provider(video) -> Path | None.
_source_providers: list[Callable[[Video], Path | None]] = []


def register_source_provider(provider: Callable[[Video], Path | None]) -> None:
    """Have the transcode read ``provider(video)`` instead of the original when it returns a file."""
    if provider not in _source_providers:
        _source_providers.append(provider)


def transcode_source(video: Video) -> Path | None:
    """The file a transcode of ``video`` reads: a registered provider's, else the uploaded original."""
    for provider in _source_providers:
        if (path := provider(video)) is not None:
            return path
    return video.original_file


# How an app above edits the picture every transcode makes (privacy: blurring, blacking out,
# masking, issue #17): provider(video, probe) -> (filter graph, spec) | None. The graph goes from
# ``[pic_in]`` to ``[pic_out]`` with ``t`` the source's own timestamps (``probe.start`` is the
# first); the spec is what the app keeps to compare with later (``served_ladder``).
_picture_providers: list[Callable[[Video, transcoding.Probe], tuple[str, dict] | None]] = []


def register_picture_provider(provider: Callable[[Video, transcoding.Probe], tuple[str, dict] | None]) -> None:
    """Have every chunk, poster and storyboard tile of ``video`` show ``provider(video, probe)``'s edit."""
    if provider not in _picture_providers:
        _picture_providers.append(provider)


def picture_edit(video: Video, probe: transcoding.Probe) -> tuple[str, dict | None]:
    """The picture edit a transcode of ``video`` (reading a file probed as ``probe``) applies: ``("", None)`` for none."""
    for provider in _picture_providers:
        if (edit := provider(video, probe)) is not None:
            return edit
    return "", None


def still_command(video: Video, *, at: float, target: Path) -> list[str] | None:
    """
    The FFmpeg command writing a 640 px JPEG of ``video`` at ``at`` seconds as the ladder shows
    it (from what the transcode reads, with the picture edit): None when there is no source.
    """
    source = transcode_source(video)
    if source is None or not source.exists():
        return None
    probe = transcoding.probe(source)
    picture, _ = picture_edit(video, probe)
    return transcoding.poster_command(
        source=source, target=target, at=at, video_map=probe.video_map, interlace=probe.interlace, picture=picture
    )


def _plan(video: Video, token: uuid.UUID, *, redo: list[list[float]] | None = None) -> TranscodeJob:
    original = transcode_source(video)
    if original is None or not original.exists():
        raise transcoding.MediaError("The original file is missing.")
    probe = transcoding.probe(original)
    source, mezzanine = original, transcoding.needs_mezzanine(probe)
    if mezzanine:
        source = storage.mezzanine_file(token)
        _remux(video, token, original, source, probe)
        probe = dataclasses.replace(transcoding.probe(source), other_video=probe.other_video)
        try:
            # The upload's limits again, on the real length: a restarted recorder's MPEG-TS
            # declares only its last stretch.
            ingest.check_limits(probe)
        except ValidationError as refusal:
            raise transcoding.MediaError(refusal.messages[0]) from None
    probe = _look_closer(source, probe)
    picture, picture_spec = picture_edit(video, probe)
    rungs = transcoding.plan_ladder(probe)
    chunks = transcoding.plan_chunks(
        probe.length, first=settings.TRANSCODE_FIRST_CHUNK_SECONDS, size=settings.TRANSCODE_CHUNK_SECONDS
    )
    copy = None
    if settings.TRANSCODE_COPY_COMPLIANT and picture:
        logger.info("top rung encoded", extra={"video": str(video.uuid), "reason": "the picture is edited"})
    elif settings.TRANSCODE_COPY_COMPLIANT:
        refusal = transcoding.copy_refusal(probe, rungs[0])
        if refusal is None:
            scan = transcoding.scan_packets(source, probe)
            outcome = transcoding.plan_copy(probe, scan, chunks, rungs[0]) if scan else "its packets could not be read"
            if isinstance(outcome, str):
                refusal = outcome
            else:
                rungs[0], copy = outcome
        logger.info(
            "top rung copied from the source" if copy else "top rung encoded",
            extra={"video": str(video.uuid), "reason": refusal or ""},
        )
    # A first encode (nothing playable yet) is built where it is served and plays as it grows;
    # a reprocess builds beside the served ladder, unless an older job of this video is still
    # writing into the served folder.
    in_place = video.status in (Video.Status.PENDING, Video.Status.PROCESSING, Video.Status.FAILED)
    older = TranscodeJob.objects.filter(video=video).exclude(token=token)
    if in_place and older.filter(chunks__status=Chunk.Status.RUNNING).exists():
        in_place = False
    for stale in older:
        if not stale.in_place:
            shutil.rmtree(job_dir(stale), ignore_errors=True)
        _drop_mezzanine(stale.token)
    older.delete()
    TranscodeJob.objects.filter(token=token).delete()  # a planning task run twice starts afresh

    out = storage.hls_dir(video.uuid) if in_place else storage.work_dir(video.uuid, token)
    shutil.rmtree(out, ignore_errors=True)
    for folder in [out, *(out / rung.name for rung in rungs), *([out / transcoding.AUDIO] if probe.has_audio else [])]:
        folder.mkdir(parents=True, exist_ok=True)
    has_poster = transcoding.make_poster(source=source, target=out / "poster.jpg", probe=probe, picture=picture)
    (out / "master.m3u8").write_text(transcoding.master_playlist(rungs, audio=probe.has_audio))
    plan = Plan(
        probe=probe,
        rungs=rungs,
        storyboard=transcoding.plan_storyboard(probe),
        has_poster=has_poster,
        mezzanine=mezzanine,
        copy=copy,
        picture=picture,
        picture_spec=picture_spec,
    )
    # One random key and IV per video (FFmpeg would otherwise use a zero IV), in the database only.
    key, iv = secrets.token_bytes(16), secrets.token_hex(16)
    kept: set[tuple[str, int]] = set()
    # Chunks of the served ladder taken as they are are encrypted with its key: so is the rest.
    if redo is not None and not in_place and (reuse := _reuse(video, plan, chunks, out, redo=redo)) is not None:
        kept = reuse
        key, iv = bytes(video.hls_key), video.hls_iv
    with transaction.atomic():
        current = Video.objects.select_for_update().filter(pk=video.pk, job_token=token).first()
        if current is None:
            raise JobSuperseded
        job = TranscodeJob.objects.create(
            video=current, token=token, in_place=in_place, key=key, iv=iv, plan=plan.as_json()
        )
        parts = [Chunk(job=job, kind=Chunk.Kind.VIDEO, index=c.index, start=c.start, end=c.end) for c in chunks]
        if probe.has_audio:
            parts.append(Chunk(job=job, kind=Chunk.Kind.AUDIO, index=0, start=0, end=probe.length))
        for part in parts:
            if (part.kind, part.index) in kept:
                part.status, part.finished_at = Chunk.Status.DONE, timezone.now()
        Chunk.objects.bulk_create(parts)
        fields = ["heartbeat_at", "extra_video_streams", "updated_at"]
        current.heartbeat_at = timezone.now()
        current.extra_video_streams = list(probe.other_video)
        if in_place:
            # Served from the first finished chunk on: the key, the renditions and the poster now.
            current.hls_key, current.hls_iv, current.ready_seconds = key, iv, 0
            current.has_poster, current.has_storyboard = has_poster, False
            fields += ["hls_key", "hls_iv", "ready_seconds", "has_poster", "has_storyboard"]
            _set_renditions(current, rungs)
        current.save(update_fields=fields)
        _queue_more(job)
    return job


LADDER_MANIFEST = "ladder.json"  # beside the ladder, never served: what made it (no key)


def served_ladder(video: Video) -> dict | None:
    """What made the served ladder of ``video`` (``{"plan", "chunks", "iv"}``, written when it was finished), or None."""
    try:
        manifest = json.loads((storage.hls_dir(video.uuid) / LADDER_MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and {"plan", "chunks", "iv"} <= manifest.keys() else None


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except FileExistsError:
        target.unlink()
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def _reuse(
    video: Video, plan: Plan, chunks: list[transcoding.Chunk], out: Path, *, redo: list[list[float]]
) -> set[tuple[str, int]] | None:
    """
    Take into ``out`` the served ladder's chunks that touch none of ``redo`` (their segments,
    their own playlists and storyboard tiles, linked, not copied) and its audio: the parts of
    the new job that are done already. Only when the served ladder was made by the same plan
    (same probe, rungs, chunks and storyboard; no copied rung) with the video's current key;
    otherwise None, and every chunk is encoded.
    """
    served = served_ladder(video)
    if served is None or not video.hls_key or served["iv"] != video.hls_iv or plan.copy:
        return None
    try:
        old = Plan.from_json(served["plan"])
    except (KeyError, TypeError, ValueError):
        return None
    same = (old.probe, old.rungs, old.storyboard, old.copy) == (plan.probe, plan.rungs, plan.storyboard, None)
    if not same or served["chunks"] != [[c.index, c.start, c.end] for c in chunks]:
        return None
    served_dir = storage.hls_dir(video.uuid)
    try:
        segments = {
            rung.name: transcoding.segments_of((served_dir / rung.name / "index.m3u8").read_text())
            for rung in plan.rungs
        }
    except OSError:
        return None
    kept: set[tuple[str, int]] = set()
    firsts = [c.first_segment for c in chunks] + [sys.maxsize]
    for chunk in chunks:
        if any(start < chunk.end and chunk.start < end for start, end in redo):
            continue
        parts = {
            rung: [
                (d, name)
                for d, name in listed
                if firsts[chunk.index] <= _segment_number(name) < firsts[chunk.index + 1]
            ]
            for rung, listed in segments.items()
        }
        tiles = [
            transcoding.STORYBOARD_TILES % tile for tile in transcoding.storyboard_tiles_in(plan.storyboard, chunk)
        ]
        files = [Path(rung) / name for rung, listed in parts.items() for _, name in listed] + [Path(t) for t in tiles]
        if not all(parts.values()) or not all((served_dir / f).is_file() for f in files):
            continue  # something of it is missing: encode it
        for file in files:
            _link(served_dir / file, out / file)
        for rung, listed in parts.items():
            (out / rung / transcoding.chunk_playlist_name(chunk.index)).write_text(
                transcoding.variant_playlist(listed, iv=served["iv"], complete=True)
            )
        kept.add((Chunk.Kind.VIDEO, chunk.index))
    audio = served_dir / transcoding.AUDIO
    if plan.probe.has_audio and (audio / "index.m3u8").is_file():
        listed = transcoding.segments_of((audio / "index.m3u8").read_text())
        if listed and all((audio / name).is_file() for _, name in listed):
            for _, name in listed:
                _link(audio / name, out / transcoding.AUDIO / name)
            _link(audio / "index.m3u8", out / transcoding.AUDIO / "index.m3u8")
            kept.add((Chunk.Kind.AUDIO, 0))
    logger.info(
        "transcode takes chunks from the served ladder",
        extra={"video": str(video.uuid), "kept": len(kept), "chunks": len(chunks)},
    )
    return kept


def _segment_number(name: str) -> int:
    digits = name.removeprefix("seg_").removesuffix(".ts")
    return int(digits) if digits.isdigit() else -1


def _remux(video: Video, token: uuid.UUID, original: Path, target: Path, probe: transcoding.Probe) -> None:
    """Write the job's mezzanine (``transcoding.mezzanine_command``), beating the video's heart meanwhile."""
    last = [time.monotonic()]

    def beat(block: dict) -> None:
        if time.monotonic() - last[0] >= settings.TRANSCODE_HEARTBEAT_SECONDS:
            last[0] = time.monotonic()
            if not Video.objects.filter(pk=video.pk, job_token=token).update(heartbeat_at=timezone.now()):
                raise JobSuperseded

    argv = transcoding.mezzanine_command(source=original, target=target, probe=probe)
    result = transcoding.run(argv, deadline=time.monotonic() + settings.TRANSCODE_TIMEOUT_SECONDS, on_progress=beat)
    if result.returncode != 0 or transcoding.out_of_space(result) or not target.exists():
        target.unlink(missing_ok=True)
        if transcoding.out_of_space(result):
            raise transcoding.MediaError(transcoding.DISK_FULL_REASON)
        raise transcoding.MediaError(f"The MPEG-TS recording could not be read: {transcoding.failure_reason(result)}")


def _look_closer(source: Path, probe: transcoding.Probe) -> transcoding.Probe:
    """
    ``probe`` with what the header cannot say, decided once for every chunk: whether the
    picture is interlaced (idet on samples, whatever the flag says), else whether its frame
    rate varies (a screen or room camera) and what its nominal rate is.
    """
    probe = dataclasses.replace(probe, interlace=transcoding.detect_interlace(source, probe))
    if not probe.interlace:
        probe = dataclasses.replace(probe, nominal_rate=transcoding.detect_nominal_rate(source, probe))
    return probe


def _drop_mezzanine(token: uuid.UUID | None) -> None:
    if token is not None:
        storage.mezzanine_file(token).unlink(missing_ok=True)


def _set_renditions(video: Video, rungs) -> None:
    Rendition.objects.filter(video=video).delete()
    audio = bool(video.audio_codec)
    Rendition.objects.bulk_create(
        Rendition(
            video=video,
            name=r.name,
            width=r.width,
            height=r.height,
            bandwidth=r.bandwidth,
            codecs=transcoding.rung_codecs(r, audio=audio),
        )
        for r in rungs
    )


# ------------------------------------------------------------------------------ a chunk


def transcode_chunk_run(*, chunk_id: int, token: str) -> str:
    """
    One chunk task (videos.tasks.transcode_chunk): claim the chunk, encode it, record it.
    Returns a short outcome for the job log.
    """
    token = uuid.UUID(str(token))
    now = timezone.now()
    claimed = Chunk.objects.filter(
        pk=chunk_id, status=Chunk.Status.QUEUED, job__token=token, job__video__job_token=token
    ).update(status=Chunk.Status.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now)
    if not claimed:
        return "not queued for this job (done, running elsewhere or superseded)"
    chunk = Chunk.objects.select_related("job__video").get(pk=chunk_id)
    job, video = chunk.job, chunk.job.video
    plan = Plan.from_json(job.plan)
    out = job_dir(job)
    source = plan.source(job)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        with transcoding.key_info_file(key=bytes(job.key), iv=job.iv) as key_info:
            if chunk.kind == Chunk.Kind.AUDIO:
                argv = transcoding.audio_command(
                    source=source, out_dir=out, key_info=key_info, bitrate_k=transcoding.audio_bitrate_k(plan.rungs)
                )
            else:
                argv = transcoding.chunk_command(
                    source=source,
                    out_dir=out,
                    probe=plan.probe,
                    rungs=plan.rungs,
                    chunk=transcoding.Chunk(chunk.index, chunk.start, chunk.end),
                    key_info=key_info,
                    preset=settings.TRANSCODE_PRESET,
                    storyboard=plan.storyboard,
                    copy=plan.copy[chunk.index] if plan.copy else None,
                    picture=plan.picture,
                )
            with (
                _stop_on_sigterm(on_stop=lambda: _requeue(chunk, job, attempts_back=True)),
                _heartbeat_thread(chunk, job),
            ):
                result = transcoding.run(argv, deadline=time.monotonic() + settings.TRANSCODE_TIMEOUT_SECONDS)
    except WorkerStopping:
        return "stopping: chunk queued again"
    except OSError as error:
        if not is_storage_full(error):
            logger.exception("transcode chunk crashed", extra={"video": str(video.uuid)})
        reason = transcoding.DISK_FULL_REASON if is_storage_full(error) else f"{error.__class__.__name__}"
        return _chunk_failed(chunk, job, reason)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0 or transcoding.out_of_space(result):
        return _chunk_failed(chunk, job, transcoding.failure_reason(result))
    done = Chunk.objects.filter(pk=chunk.pk, status=Chunk.Status.RUNNING).update(
        status=Chunk.Status.DONE, finished_at=timezone.now(), cpu_seconds=cpu
    )
    if not done:
        return "reaped meanwhile"
    return chunk_done(job_id=job.pk)


# What tells a worker to stop: SIGINT is what the cluster's main process passes on to its
# workers when it is stopped (core/management/commands/qcluster.py) and what Ctrl-C sends;
# SIGTERM is what a supervisor signalling every process of the cluster sends.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _stop_on_sigterm(*, on_stop: Callable[[], None]):
    """
    While FFmpeg runs, a stop signal to this worker (SIGINT or SIGTERM) ends the chunk at once
    instead of after it: ``WorkerStopping`` is raised, ``transcoding.run`` kills FFmpeg as it
    passes, and ``on_stop`` puts the chunk back in the queue. Signals that follow (the cluster's
    main process repeats its SIGINT until the worker has gone) are only noted meanwhile.

    A SIGTERM among them means every process of the cluster was signalled at once
    (KillMode=control-group, `kill -- -<pgid>`): django-q2's guard died of it, and no one would
    ever hand this worker a next job or a stop, so the worker process ends here. After the
    cluster's own stop (SIGINT only) django-q2 ends it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only (tests run tasks inline)
        return
    received = []

    def stop(signum, frame):
        received.append(signum)
        if len(received) == 1:
            raise WorkerStopping(signum)

    previous = {number: signal.signal(number, stop) for number in _STOP_SIGNALS}
    try:
        yield
    except WorkerStopping:
        on_stop()
        if signal.SIGTERM in received and multiprocessing.parent_process() is not None:
            logger.info("transcode worker ends: its cluster was signalled, the chunk is queued again")
            os._exit(0)
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _requeue(chunk: TranscodeChunk, job: TranscodeJob, *, attempts_back: bool) -> None:
    """Put ``chunk`` back in the queue (a stop is not the chunk's fault: the attempt is given back)."""
    with transaction.atomic():
        updated = Chunk.objects.filter(pk=chunk.pk, status=Chunk.Status.RUNNING).update(
            status=Chunk.Status.QUEUED,
            queued_at=timezone.now(),
            attempts=F("attempts") - 1 if attempts_back else F("attempts"),
        )
        if updated:
            _queue_chunk(chunk.pk, job.token, f"{chunk.kind}-{chunk.index}-{job.video.uuid}")


def _describe(chunk: TranscodeChunk) -> str:
    if chunk.kind == Chunk.Kind.AUDIO:
        return "the audio"
    return f"{transcoding.timestamp(chunk.start)}–{transcoding.timestamp(chunk.end)}"


def _chunk_failed(chunk: TranscodeChunk, job: TranscodeJob, reason: str) -> str:
    attempts = Chunk.objects.filter(pk=chunk.pk).values_list("attempts", flat=True).first() or 0
    if attempts < MAX_FAILURES:
        _requeue(chunk, job, attempts_back=False)
        return f"failed once, queued again: {reason}"
    if reason == transcoding.DISK_FULL_REASON:
        message = reason
    else:
        message = f"Encoding {_describe(chunk)} failed twice: {reason}"
    _fail_job(job, message)
    return f"failed: {message}"


def _fail_job(job: TranscodeJob, reason: str) -> None:
    _finish_failed(job.video_id, job.token, reason)
    if not job.in_place:
        shutil.rmtree(job_dir(job), ignore_errors=True)
    TranscodeJob.objects.filter(pk=job.pk).delete()


@contextmanager
def _heartbeat_thread(chunk: TranscodeChunk, job: TranscodeJob):
    """
    Beat while FFmpeg runs, so the reaper leaves the chunk (and the video) alone; the audio
    part also lets the playlists grow as its own playlist does (the start plays once both are in).
    """
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(settings.TRANSCODE_HEARTBEAT_SECONDS):
                now = timezone.now()
                Chunk.objects.filter(pk=chunk.pk, status=Chunk.Status.RUNNING).update(heartbeat_at=now)
                Video.objects.filter(pk=job.video_id, job_token=job.token).update(heartbeat_at=now)
                if chunk.kind == Chunk.Kind.AUDIO:
                    chunk_done(job_id=job.pk)
        except Exception:  # the heartbeat must never take the encode down
            logger.exception("transcode heartbeat failed", extra={"video": str(job.video.uuid)})
        finally:
            db_connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{chunk.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# ------------------------------------------------------------------------------ the growing ladder


def chunk_done(*, job_id: int) -> str:
    """
    After a chunk (or, while it runs, the audio) moved on: rewrite the rungs' playlists to list
    the contiguous finished prefix, record how far the video plays and how far it is, queue more
    chunks, and finish the ladder when every part is in.
    """
    job = TranscodeJob.objects.select_related("video").filter(pk=job_id).first()
    if job is None:
        return "job gone (finished or superseded)"
    plan = Plan.from_json(job.plan)
    out = job_dir(job)
    chunks = list(job.chunks.all())
    video_chunks = sorted((c for c in chunks if c.kind == Chunk.Kind.VIDEO), key=lambda c: c.index)
    prefix = []
    for chunk in video_chunks:
        if chunk.status != Chunk.Status.DONE:
            break
        prefix.append(chunk)
    audio = next((c for c in chunks if c.kind == Chunk.Kind.AUDIO), None)
    complete = len(prefix) == len(video_chunks) and (audio is None or audio.status == Chunk.Status.DONE)
    for rung in plan.rungs:
        segments = []
        for chunk in prefix:
            segments += transcoding.segments_of(
                (out / rung.name / transcoding.chunk_playlist_name(chunk.index)).read_text()
            )
        transcoding.write_atomically(
            out / rung.name / "index.m3u8", transcoding.variant_playlist(segments, iv=job.iv, complete=complete)
        )
    video_ready = prefix[-1].end if prefix else 0.0
    ready = video_ready
    if audio is not None and audio.status != Chunk.Status.DONE:
        audio_playlist = out / transcoding.AUDIO / "index.m3u8"
        ready = min(ready, transcoding.playlist_seconds(audio_playlist.read_text()) if audio_playlist.exists() else 0)
    done_seconds = sum(c.end - c.start for c in video_chunks if c.status == Chunk.Status.DONE)
    percent = int(min(99, done_seconds / max(plan.probe.length, 0.001) * 100))
    updates = {"progress": Greatest("progress", Value(percent)), "heartbeat_at": timezone.now()}
    if job.in_place:
        updates["ready_seconds"] = Greatest("ready_seconds", Value(float(ready)))
    if not Video.objects.filter(pk=job.video_id, job_token=job.token).update(**updates):
        return "superseded"
    if complete:
        return _finish(job, plan, out)
    with transaction.atomic():
        _queue_more(job)
    return f"ready to {transcoding.clock(ready)}, {percent} %"


def _finish(job: TranscodeJob, plan: Plan, out: Path) -> str:
    # Whoever deletes the job finishes it (two last chunks may both get here).
    chunk_cpu = sum(job.chunks.values_list("cpu_seconds", flat=True))
    seams = list(job.chunks.filter(kind=Chunk.Kind.VIDEO).order_by("index").values_list("index", "start", "end"))
    if not TranscodeJob.objects.filter(pk=job.pk).delete()[0]:
        return "finished by another task"
    _drop_mezzanine(job.token)
    try:
        held = transcoding.playlist_seconds((out / plan.rungs[0].name / "index.m3u8").read_text())
        transcoding.check_length(plan.probe, held)
        has_storyboard = transcoding.join_storyboard(out, plan.storyboard, duration=plan.probe.length)
        for rung in plan.rungs:
            for part in (out / rung.name).glob("chunk_*.m3u8"):
                part.unlink(missing_ok=True)
    except transcoding.MediaError as error:
        duration = error.ends_at if isinstance(error, transcoding.TruncatedMedia) else None
        _finish_failed(job.video_id, job.token, str(error), duration=duration)
        if not job.in_place:
            shutil.rmtree(out, ignore_errors=True)
        return f"failed: {error}"
    if not Video.objects.filter(pk=job.video_id, job_token=job.token).exists():
        return "superseded"
    manifest = {"plan": job.plan, "chunks": [list(seam) for seam in seams], "iv": job.iv}
    transcoding.write_atomically(out / LADDER_MANIFEST, json.dumps(manifest))
    if not job.in_place:
        _swap_into_place(out, storage.hls_dir(job.video.uuid))
    _finish_ok(
        job.video_id,
        job.token,
        key=bytes(job.key),
        iv=job.iv,
        rungs=plan.rungs,
        duration=held,
        has_poster=plan.has_poster,
        has_storyboard=has_storyboard,
    )
    logger.info(
        "transcode finished",
        extra={
            "video": str(job.video.uuid),
            "rungs": len(plan.rungs),
            "copied": bool(plan.copy),
            "cpu_seconds": round(chunk_cpu, 1),
        },
    )
    return f"ok: {', '.join(rung.name for rung in plan.rungs)}"


def _swap_into_place(work: Path, final: Path) -> None:
    """Replace the served ladder only now that the new one is complete."""
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
            "ready_seconds",
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
        video.duration = video.ready_seconds = duration
        video.has_poster, video.has_storyboard = has_poster, has_storyboard
        video.progress, video.job_token, video.heartbeat_at = 100, None, None
        video.processed_at = timezone.now()
        video.failure_reason = ""
        first = video.status in (Video.Status.PENDING, Video.Status.PROCESSING, Video.Status.FAILED)
        signals.ladder_complete.send(sender=Video, video=video, token=token, first=first)
        if first:
            publish = video.published_at is not None or not settings.VIDEOS_REQUIRE_APPROVAL
            # A video that may not be published yet (review.register_publish_check) waits for
            # an approver instead, however it got here.
            publish = publish and review.may_auto_publish(video)
            video.status = Video.Status.PUBLISHED if publish else Video.Status.PROCESSED
            fields.append("status")
            if publish and video.published_at is None:
                video.published_at = timezone.now()
                fields.append("published_at")
        video.save(update_fields=fields)
        _set_renditions(video, rungs)


def _finish_failed(video_id, token, reason: str, *, duration: float | None = None) -> None:
    """
    Record a failed job. ``reason`` is shown to people, so server paths are taken out of it;
    ``duration`` (a truncated file's real length) replaces the probed one on a first encode.
    """
    _drop_mezzanine(token)
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
            # A first encode's half-built ladder goes: nothing of it is offered any more.
            video.ready_seconds, video.hls_key, video.hls_iv = 0, None, ""
            video.has_poster = video.has_storyboard = False
            fields += ["status", "ready_seconds", "hls_key", "hls_iv", "has_poster", "has_storyboard"]
            Rendition.objects.filter(video=video).delete()
            hls_dir = video.hls_dir
            transaction.on_commit(lambda: shutil.rmtree(hls_dir, ignore_errors=True))
            if duration is not None:
                video.duration = duration
                fields.append("duration")
        else:
            # A reprocess of a playable video failed: the old ladder stays in service.
            video.failure_reason = f"Reprocessing failed: {reason}"[:500]
        video.save(update_fields=fields)


# ------------------------------------------------------------------------------ the reaper


def videos_reap_stalled() -> int:
    """
    Recover from workers that died (killed, crashed, machine lost): a running chunk whose
    heartbeat stopped is queued again (a job loses that chunk only; after ``MAX_ATTEMPTS`` the
    video fails naming its time range); a queued chunk the broker lost (Redis keeps no
    receipts) is queued again after ``TRANSCODE_REQUEUE_SECONDS``; a planning task that died
    fails its video, which "reprocess" recovers. Returns how many things it acted on.
    """
    now = timezone.now()
    stalled = now - timedelta(seconds=settings.TRANSCODE_STALL_SECONDS)
    acted = 0
    for chunk in Chunk.objects.select_related("job__video").filter(
        status=Chunk.Status.RUNNING, heartbeat_at__lt=stalled
    ):
        acted += 1
        if chunk.attempts >= MAX_ATTEMPTS:
            _fail_job(
                chunk.job,
                f"The worker encoding {_describe(chunk)} stopped responding {chunk.attempts} times "
                "(stopped or crashed). Use “reprocess” to try again.",
            )
        else:
            _requeue(chunk, chunk.job, attempts_back=False)
    lost = now - timedelta(seconds=settings.TRANSCODE_REQUEUE_SECONDS)
    for chunk in Chunk.objects.select_related("job__video").filter(status=Chunk.Status.QUEUED, queued_at__lt=lost):
        # A second copy in the queue is harmless: only one task can claim the chunk.
        Chunk.objects.filter(pk=chunk.pk).update(queued_at=now)
        _queue_chunk(chunk.pk, chunk.job.token, f"{chunk.kind}-{chunk.index}-{chunk.job.video.uuid}")
        acted += 1
    planning = Video.objects.filter(job_token__isnull=False, heartbeat_at__lt=stalled)
    for video in planning.exclude(transcode_jobs__token=F("job_token")):
        shutil.rmtree(storage.work_dir(video.uuid, video.job_token), ignore_errors=True)
        _finish_failed(
            video.pk,
            video.job_token,
            "The transcoding worker stopped responding (it was stopped or crashed). Use “reprocess” to try again.",
        )
        acted += 1
    return acted
