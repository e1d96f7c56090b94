"""
Writes of the privacy app (issue #17). Every door (API, review page, admin, tasks) calls these.

    ladder complete (first) ─► scan_enqueue ─► privacy_scan_run ─► clean (auto-publish if no approval)
                                                               └─► flagged ─► range_decide / range_add
                                                                              └─► privacy_apply ─► reprocess (changed chunks) ─► ladder complete ─► resolved
                                                                                   └─► (a cut) privacy_redact_run ─► reprocess (all)

- The scan samples the original (``privacy.scanning``) and stores ranges only.
- Applying reprocesses the video with the decisions: blur, black-out and masks are the
  transcode's picture edit (``picture_edit``, ``register_picture_provider``), and only the
  chunks whose stretch changed are encoded again; a cut renders the redacted recording first
  (``privacy.redaction``) and the whole ladder is made from it (``register_source_provider``).
  The old ladder serves until the new one is complete.
- Quarantine (``publish_check``, registered with ``review.register_publish_check``): a pending
  scan, undecided ranges, or decisions not applied yet keep the video from being published.
- Posters and storyboards are never from a flagged frame (``images_protect``).
"""

import logging
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent
from videos import transcoding
from videos.models import Video
from videos.services import review, transcode
from videos.services.transcode import video_reprocess

from . import redaction, rights, scanning
from .models import Decision, Mask, PrivacyRange, PrivacyScan, ScanStatus, hms

logger = logging.getLogger(__name__)

CHOICES = [Decision.BLUR, Decision.BLACK, Decision.CUT, Decision.KEEP]


# ------------------------------------------------------------------------------ where files live


def privacy_dir(video_uuid) -> Path:
    """The video's redacted recording lives here (removed with the video)."""
    return Path(settings.MEDIA_ROOT) / "privacy" / str(video_uuid)


def redacted_source(video: Video) -> Path | None:
    """The transcode source provider: the redacted recording of ``video``, when one was rendered."""
    name = PrivacyScan.objects.filter(video_id=video.pk).values_list("redacted_name", flat=True).first()
    if not name:
        return None
    path = privacy_dir(video.uuid) / name
    return path if path.exists() else None


# ------------------------------------------------------------------------------ quarantine


def publish_check(video: Video) -> list[str]:
    """Why ``video`` may not be published yet for privacy's sake (``review.register_publish_check``)."""
    scan = PrivacyScan.objects.filter(video_id=video.pk).first()
    if scan is None:
        return ["the privacy scan has not run yet"] if settings.PRIVACY_SCAN else []
    reasons = []
    if scan.status == ScanStatus.PENDING:
        reasons.append("the privacy scan is not finished")
    undecided = [r.label for r in scan.ranges.undecided()]
    if undecided:
        reasons.append("undecided privacy ranges " + ", ".join(undecided))
    if scan.applying:
        reasons.append("the privacy decisions are still being applied")
    elif scan.status == ScanStatus.FLAGGED and not undecided and scan.ranges.redacting().exists():
        reasons.append("the privacy decisions have not been applied yet")
    return reasons


# ------------------------------------------------------------------------------ the scan


def on_ladder_complete(sender, *, video: Video, token, first: bool, **kwargs) -> None:
    """``videos.signals.ladder_complete``: scan a first ladder; record the redacted one as resolved."""
    scan = PrivacyScan.objects.select_for_update().filter(video_id=video.pk).first()
    if scan is not None and scan.applying_token is not None and scan.applying_token == token:
        scan.status, scan.applying_token = ScanStatus.RESOLVED, None
        scan.save(update_fields=["status", "applying_token", "updated_at"])
        video_id = video.pk
        transaction.on_commit(lambda: _after_resolved(video_id))
        return
    if first and settings.PRIVACY_SCAN and (scan is None or scan.status == ScanStatus.PENDING):
        scan_enqueue(video=video)


def scan_enqueue(*, video: Video) -> PrivacyScan:
    """Mark ``video``'s scan pending (it blocks publishing) and queue it on the transcode cluster after commit."""
    from django_q.tasks import async_task

    scan, _ = PrivacyScan.objects.get_or_create(video=video)
    if scan.status != ScanStatus.PENDING:
        scan.status = ScanStatus.PENDING
        scan.save(update_fields=["status", "updated_at"])
    video_id, name = video.pk, f"privacy-scan-{video.uuid}"[:100]
    transaction.on_commit(
        lambda: async_task("privacy.tasks.scan", video_id, task_name=name, cluster=settings.Q_TRANSCODE_CLUSTER)
    )
    return scan


def privacy_scan_run(*, video_id: int) -> str:
    """The scan task: sample the original, store the flagged ranges, protect the images; a clean video may publish."""
    video = Video.objects.filter(pk=video_id).first()
    if video is None or video.original_file is None or not video.original_file.exists():
        return "video or original gone"
    try:
        result = scanning.scan_file(video.original_file)
    except transcoding.MediaError as error:
        PrivacyScan.objects.filter(video_id=video_id).update(failure_reason=str(error)[:300])
        logger.warning("privacy scan failed", extra={"video": str(video.uuid)})
        return f"failed: {error}"
    with transaction.atomic():
        scan, _ = PrivacyScan.objects.select_for_update().get_or_create(video=video)
        # A scan run again replaces what an earlier one found and no one decided; decisions and
        # hand-made ranges stay.
        scan.ranges.filter(hand_made=False, decision=Decision.UNDECIDED).delete()
        PrivacyRange.objects.bulk_create(
            PrivacyRange(scan=scan, start=f.start, end=f.end, kinds=f.kinds, confidence=f.confidence)
            for f in result.ranges
        )
        flagged = scan.ranges.exists()
        scan.status = ScanStatus.FLAGGED if flagged else ScanStatus.CLEAN
        scan.scanned_at, scan.frames, scan.cpu_seconds = timezone.now(), result.frames, result.cpu_seconds
        scan.failure_reason = ""
        scan.save(update_fields=["status", "scanned_at", "frames", "cpu_seconds", "failure_reason", "updated_at"])
    # Counts and times only: never what a frame showed.
    logger.info(
        "privacy scan finished",
        extra={
            "video": str(video.uuid),
            "ranges": len(result.ranges),
            "frames": result.frames,
            "cpu": result.cpu_seconds,
        },
    )
    if flagged:
        images_protect(video=video)
    else:
        review.video_publish_unattended(video=video, note="Published automatically: the privacy scan found nothing.")
    return f"{scan.status}: {len(result.ranges)} range(s), {result.frames} frames, {result.cpu_seconds:.1f} CPU s"


# ------------------------------------------------------------------------------ decisions


def _scan_for(video: Video) -> PrivacyScan:
    scan = PrivacyScan.objects.select_for_update().filter(video=video).first()
    if scan is None:
        raise ValidationError("This video has not been scanned for privacy yet.", code="no_scan")
    return scan


def range_decide(*, user, privacy_range: PrivacyRange, decision: str, reason: str = "") -> PrivacyRange:
    """Decide one range: blur, black, cut, or keep (with a reason). Audited; a change waits to be applied."""
    video = privacy_range.scan.video
    if not rights.may_decide(user, video):
        raise PermissionDenied("Only approvers and the video's owner decide on privacy ranges.")
    if decision not in CHOICES:
        raise ValidationError({"decision": f"Choose one of: {', '.join(CHOICES)}."})
    reason = (reason or "").strip()
    if decision == Decision.KEEP and not reason:
        raise ValidationError({"reason": "Say why this stretch may be kept as it is."})
    if len(reason) > 500:
        raise ValidationError({"reason": "At most 500 characters."})
    with transaction.atomic():
        scan = _scan_for(video)
        privacy_range = scan.ranges.select_for_update().get(pk=privacy_range.pk)
        previous = privacy_range.decision
        privacy_range.decision, privacy_range.reason = decision, reason
        privacy_range.decided_by, privacy_range.decided_at = user, timezone.now()
        privacy_range.save(update_fields=["decision", "reason", "decided_by", "decided_at"])
        if scan.status in (ScanStatus.CLEAN, ScanStatus.RESOLVED) and previous != decision:
            scan.status = ScanStatus.FLAGGED
            scan.save(update_fields=["status", "updated_at"])
        trail.record(
            AuditEvent.Event.VIDEO_EDIT,
            actor=user,
            video=str(video.uuid),
            privacy_range=privacy_range.label,
            decision=decision,
            previous=previous,
            reason=reason,
        )
    return privacy_range


def _seconds(value, name: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValidationError({name: "A number of seconds."}) from None
    if seconds != seconds or seconds < 0:
        raise ValidationError({name: "A number of seconds, 0 or more."})
    return round(seconds, 3)


def range_add(*, user, video: Video, start, end) -> PrivacyRange:
    """A range marked by hand (undecided until someone decides it). Audited."""
    if not rights.may_decide(user, video):
        raise PermissionDenied("Only approvers and the video's owner mark privacy ranges.")
    start, end = _seconds(start, "start"), _seconds(end, "end")
    if video.duration and start >= video.duration:
        raise ValidationError({"start": "After the end of the video."})
    if end <= start:
        raise ValidationError({"end": "Must be after the start."})
    if video.duration:
        end = min(end, round(video.duration, 3))
    with transaction.atomic():
        scan, _ = PrivacyScan.objects.select_for_update().get_or_create(
            video=video, defaults={"status": ScanStatus.FLAGGED}
        )
        if scan.status in (ScanStatus.CLEAN, ScanStatus.RESOLVED):
            scan.status = ScanStatus.FLAGGED
            scan.save(update_fields=["status", "updated_at"])
        made = PrivacyRange.objects.create(
            scan=scan, start=start, end=end, kinds=[PrivacyRange.Kind.MANUAL], confidence=1.0, hand_made=True
        )
        trail.record(AuditEvent.Event.VIDEO_EDIT, actor=user, video=str(video.uuid), privacy_range_added=made.label)
    return made


# ------------------------------------------------------------------------------ applying


def privacy_apply(*, user, video: Video) -> PrivacyScan:
    """
    Apply the decisions; resolved when the new ladder is complete (the old one serves meanwhile).

    - Blur, black-out and masks are the transcode's picture edit (``picture_edit``): the video
      is reprocessed with only the chunks whose stretch changed since the served ladder
      encoded again (``video_reprocess(redo=...)``); a change of masks touches every chunk.
    - A cut changes every later timestamp: the redacted recording is rendered first
      (``privacy_redact_run``) and the whole ladder is made from it.
    - With nothing to change (every range kept, no mask, nothing redacted before) it is
      resolved at once, without a re-encode.
    """
    if not rights.may_decide(user, video):
        raise PermissionDenied("Only approvers and the video's owner apply privacy decisions.")
    with transaction.atomic():
        scan = _scan_for(video)
        undecided = [r.label for r in scan.ranges.undecided()]
        if undecided:
            raise ValidationError(
                {"ranges": "Decide every range first; undecided: " + ", ".join(undecided)}, code="undecided"
            )
        trail.record(AuditEvent.Event.VIDEO_EDIT, actor=user, video=str(video.uuid), privacy="apply")
        spec = picture_spec(video, scan)
        served = transcode.served_ladder(video)
        served_spec = (served or {}).get("plan", {}).get("picture_spec") or _NO_EDIT
        cuts = any(decision == Decision.CUT for _, _, decision in spec["spans"])
        if not cuts and not scan.redacted_name and spec == served_spec:
            # The served ladder shows these decisions already.
            scan.status, scan.applying_token = ScanStatus.RESOLVED, None
            scan.save(update_fields=["status", "applying_token", "updated_at"])
            video_id = video.pk
            transaction.on_commit(lambda: _after_resolved(video_id))
            return scan
        if not video.original_file or not video.original_file.exists():
            raise ValidationError(
                "The original recording is gone, so no redaction can be rendered.", code="no_original"
            )
        if cuts:
            scan.applying_token = uuid.uuid4()
            scan.save(update_fields=["applying_token", "updated_at"])
            from django_q.tasks import async_task

            video_id, token, name = video.pk, str(scan.applying_token), f"privacy-redact-{video.uuid}"[:100]
            transaction.on_commit(
                lambda: async_task(
                    "privacy.tasks.redact", video_id, token, task_name=name, cluster=settings.Q_TRANSCODE_CLUSTER
                )
            )
            return scan
        redo = _changed(spec, served_spec) if served is not None and not scan.redacted_name else None
        if scan.redacted_name:
            # The served ladder was made from a render with cuts; this one is made from the original.
            render = privacy_dir(video.uuid) / scan.redacted_name
            transaction.on_commit(lambda: render.unlink(missing_ok=True))
            scan.redacted_name = ""
        video = video_reprocess(user=None, video=video, redo=redo)
        scan.applying_token, scan.failure_reason = video.job_token, ""
        scan.save(update_fields=["applying_token", "redacted_name", "failure_reason", "updated_at"])
    return scan


_NO_EDIT = {"spans": [], "masks": []}


def picture_spec(video: Video, scan: PrivacyScan | None) -> dict:
    """What the ladder of ``video`` should show: ``{"spans": [[start, end, decision]], "masks": [[x, y, w, h]]}``."""
    spans = [[r.start, r.end, r.decision] for r in scan.ranges.redacting()] if scan is not None else []
    return {"spans": sorted(spans), "masks": masks_of(video)}


def _changed(spec: dict, served: dict) -> list[tuple[float, float]] | None:
    """The stretches whose picture differs between two specs; None (everywhere) when the masks differ."""
    if spec["masks"] != served.get("masks", []):
        return None
    now = {tuple(span) for span in spec["spans"]}
    before = {tuple(span) for span in served.get("spans", [])}
    return sorted((start, end) for start, end, _ in now ^ before)


def picture_edit(video: Video, probe: transcoding.Probe) -> tuple[str, dict] | None:
    """
    The picture provider (``transcode.register_picture_provider``): the decided blurs and
    black-outs and the masks, as a filter graph on ``probe``'s timeline, with their spec.
    None when there is nothing to edit, or when the transcode reads a rendered redaction
    (which has them already).
    """
    scan = PrivacyScan.objects.filter(video_id=video.pk).first()
    if scan is not None and scan.redacted_name:
        return None
    spec = picture_spec(video, scan)
    # Cuts wait for their render (privacy_apply); until then the other decisions still show.
    spec["spans"] = [span for span in spec["spans"] if span[2] != Decision.CUT]
    if spec == _NO_EDIT:
        return None
    spans = [redaction.Span(start, end, decision) for start, end, decision in spec["spans"]]
    return redaction.picture_graph(spans, spec["masks"], base=probe.start), spec


def spans_of(scan: PrivacyScan) -> list[redaction.Span]:
    return [redaction.Span(r.start, r.end, r.decision) for r in scan.ranges.redacting()]


def masks_of(video: Video) -> list[list[float]]:
    return [list(rect) for mask in Mask.objects.for_video(video) for rect in mask.rectangles]


def privacy_redact_run(*, video_id: int, token: str) -> str:
    """The redact task: render the redacted recording, then reprocess the video from it."""
    token = uuid.UUID(str(token))
    scan = PrivacyScan.objects.select_related("video").filter(video_id=video_id, applying_token=token).first()
    if scan is None:
        return "superseded"
    video = scan.video
    source = video.original_file
    probe = transcoding.probe(source)
    folder = privacy_dir(video.uuid)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"redacted-{token.hex[:12]}.mkv"
    target = folder / name
    argv = redaction.render_command(
        source=source, target=target, probe=probe, spans=spans_of(scan), masks=masks_of(video)
    )
    result = transcoding.run_simple(argv, timeout=settings.TRANSCODE_TIMEOUT_SECONDS)
    if result.returncode != 0 or not target.exists():
        target.unlink(missing_ok=True)
        PrivacyScan.objects.filter(pk=scan.pk, applying_token=token).update(
            applying_token=None, failure_reason="The redacted recording could not be made."
        )
        logger.warning("privacy redaction failed", extra={"video": str(video.uuid)})
        return "failed"
    with transaction.atomic():
        current = PrivacyScan.objects.select_for_update().filter(pk=scan.pk, applying_token=token).first()
        if current is None:
            target.unlink(missing_ok=True)
            return "superseded"
        old = current.redacted_name
        current.redacted_name, current.failure_reason = name, ""
        video = video_reprocess(user=None, video=video)
        # The reprocess's job token: its ladder_complete marks the scan resolved.
        current.applying_token = video.job_token
        current.save(update_fields=["redacted_name", "applying_token", "failure_reason", "updated_at"])
    if old and old != name:
        (folder / old).unlink(missing_ok=True)
    return f"rendered, reprocessing ({len(spans_of(scan))} range(s))"


def _after_resolved(video_id: int) -> None:
    video = Video.objects.filter(pk=video_id).first()
    if video is None:
        return
    images_protect(video=video)
    review.video_publish_unattended(video=video, note="Published automatically: privacy decisions applied.")


# ------------------------------------------------------------------------------ posters and storyboards


def _forbidden(video: Video) -> list[tuple[float, float]]:
    """Stretches of the served ladder's timeline no image may come from: every flagged range not cut."""
    scan = PrivacyScan.objects.filter(video_id=video.pk).first()
    if scan is None:
        return []
    ranges = list(scan.ranges.all())
    cuts = (
        redaction.merged_cuts(
            [redaction.Span(r.start, r.end, r.decision) for r in ranges if r.decision == Decision.CUT]
        )
        if scan.redacted_name
        else []
    )
    return [
        (redaction.after_cuts(r.start, cuts), redaction.after_cuts(r.end, cuts))
        for r in ranges
        if not (scan.redacted_name and r.decision == Decision.CUT)
    ]


def poster_check(video: Video, at: float) -> list[str]:
    """``videos.services.poster.register_poster_check``: no poster from a flagged moment."""
    for start, end in _forbidden(video):
        if start <= float(at) < end:
            return [f"{hms(start)}–{hms(end)} is flagged for privacy: choose a moment outside it"]
    return []


def safe_time(duration: float, forbidden: list[tuple[float, float]], *, preferred: float) -> float | None:
    """``preferred`` when it is outside ``forbidden``, else the middle of the longest allowed stretch."""
    if not any(a <= preferred < b for a, b in forbidden):
        return preferred
    gaps, at = [], 0.0
    for a, b in sorted(forbidden):
        if a > at:
            gaps.append((at, a))
        at = max(at, b)
    if at < duration:
        gaps.append((at, duration))
    gaps = [g for g in gaps if g[1] - g[0] >= 0.2]
    if not gaps:
        return None
    a, b = max(gaps, key=lambda g: g[1] - g[0])
    return (a + b) / 2


_CUE = re.compile(r"([\d:.]+) --> ([\d:.]+)\s+\S+#xywh=(\d+),(\d+),(\d+),(\d+)")


def _cue_seconds(stamp: str) -> float:
    seconds = 0.0
    for part in stamp.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def images_protect(*, video: Video) -> None:
    """
    Make sure no poster or storyboard tile of the served ladder shows a flagged frame: the
    poster is taken again from an unflagged moment (or removed when there is none), and the
    storyboard tiles whose stretch touches a flagged range are blacked out.
    """
    forbidden = _forbidden(video)
    if not forbidden:
        return
    hls = video.hls_dir
    duration = video.duration or 0
    poster = hls / "poster.jpg"
    if video.has_poster and poster.exists():
        at = safe_time(duration, forbidden, preferred=duration * 0.1)
        if at != duration * 0.1:  # else the transcode's own poster (edited as the ladder) is fine
            argv = transcode.still_command(video, at=at, target=poster) if at is not None else None
            if argv is None or transcoding.run_simple(argv, timeout=300).returncode != 0:
                poster.unlink(missing_ok=True)
                Video.objects.filter(pk=video.pk).update(has_poster=False)
    sprite, cues = hls / "storyboard.jpg", hls / "storyboard.vtt"
    if video.has_storyboard and sprite.exists() and cues.exists():
        boxes = []
        for match in _CUE.finditer(cues.read_text()):
            start, end = _cue_seconds(match[1]), _cue_seconds(match[2])
            if any(a < end and start < b for a, b in forbidden):
                x, y, w, h = match.groups()[2:]
                boxes.append(f"drawbox=x={x}:y={y}:w={w}:h={h}:color=black:t=fill")
        if boxes:
            covered = sprite.with_name("storyboard.covered.jpg")
            argv = [
                settings.FFMPEG_BIN, "-nostdin", "-hide_banner", "-y", "-i", str(sprite),
                "-vf", ",".join(boxes), "-q:v", "5", "-loglevel", "error", str(covered),
            ]  # fmt: skip
            done = subprocess.run(argv, capture_output=True, timeout=120)  # noqa: S603
            if done.returncode == 0 and covered.exists():
                covered.replace(sprite)
            else:
                sprite.unlink(missing_ok=True)
                Video.objects.filter(pk=video.pk).update(has_storyboard=False)


def mask_clean(mask: Mask) -> None:
    """A mask's rectangles: ``[[x, y, w, h], ...]`` inside the picture (fractions 0–1), one scope."""
    rects = mask.rectangles
    if not isinstance(rects, list) or not rects:
        raise ValidationError({"rectangles": "At least one rectangle [x, y, w, h]."})
    for rect in rects:
        if (
            not isinstance(rect, list | tuple)
            or len(rect) != 4
            or not all(isinstance(v, int | float) for v in rect)
            or rect[0] < 0
            or rect[1] < 0
            or rect[2] <= 0
            or rect[3] <= 0
            or rect[0] + rect[2] > 1
            or rect[1] + rect[3] > 1
        ):
            raise ValidationError(
                {"rectangles": "Each rectangle is [x, y, w, h] in fractions of the picture, inside it."}
            )
    if sum(bool(v) for v in (mask.video_id, mask.category_id, mask.uploader_id)) != 1:
        raise ValidationError("A mask belongs to exactly one video, category or uploader.")


def privacy_files_remove(*, video_uuid) -> None:
    shutil.rmtree(privacy_dir(video_uuid), ignore_errors=True)
