"""
Writes of the teaching layer: chapters, comments (with mentions and their notifications) and
captions. Keyword-only, atomic; every door (API, admin, pages) calls these. A refusal is a
``ValidationError`` naming the field (``[2].start`` for the third chapter) or a
``PermissionDenied``; the caller has already found the video with ``visible_or_404``.
"""

import logging
import math
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language_info

from audit import trail
from audit.models import AuditEvent
from core.context import current_request
from videos import transcoding
from videos.models import Video
from videos.services import transcode

from . import captions as caption_files
from . import search, speech
from .models import (
    BODY_MAX,
    TITLE_MAX,
    Caption,
    CaptionCue,
    Chapter,
    Comment,
    Notification,
    Step,
    Transcription,
    may_write_chapters,
)

logger = logging.getLogger(__name__)

MAX_CHAPTERS = 200
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
LABEL_MAX = 80
MENTION = re.compile(r"(?<![\w@])@([\w.+-]*\w)")
MAX_MENTIONS = 10


# ------------------------------------------------------------------------------ numbers


def _seconds(value, *, field: str, errors: dict, key: str, allow_null: bool = False) -> float | None:
    if value is None and allow_null:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors[key] = f"Give {field} as a number of seconds."
        return None
    return float(value)


# ------------------------------------------------------------------------------ chapters


def chapters_clean(*, video: Video, items) -> list[dict]:
    """
    ``items`` (``[{start, title, step}]``) checked against ``video``: each start in
    ``[0, duration)`` and unique, each title 1–120 characters, each step null or one of the
    video's category's steps. Errors are keyed ``[index].field``.
    """
    if not isinstance(items, list):
        raise ValidationError({"chapters": "Send a list of chapters: [{start, title, step}]."})
    if len(items) > MAX_CHAPTERS:
        raise ValidationError({"chapters": f"At most {MAX_CHAPTERS} chapters."})
    steps = {step.pk: step for step in Step.objects.filter(category_id=video.category_id)} if video.category_id else {}
    errors: dict[str, str] = {}
    clean, seen = [], {}
    for index, item in enumerate(items):
        key = f"[{index}]"
        if not isinstance(item, Mapping):
            errors[key] = "Each chapter is an object: {start, title, step}."
            continue
        unknown = set(item) - {"start", "title", "step", "end"}
        if unknown:
            errors[f"{key}.{sorted(unknown)[0]}"] = "Unknown field (use start, title and step)."
        start = _seconds(item.get("start"), field="start", errors=errors, key=f"{key}.start")
        if start is not None:
            if not 0 <= start < max(video.duration, 0):
                errors[f"{key}.start"] = f"Start within the video: from 0 to under {video.duration:g} seconds."
            elif start in seen:
                errors[f"{key}.start"] = f"Another chapter ([{seen[start]}]) starts at the same time."
            else:
                seen[start] = index
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            errors[f"{key}.title"] = "Give the chapter a title."
        elif len(title.strip()) > TITLE_MAX:
            errors[f"{key}.title"] = f"At most {TITLE_MAX} characters."
        elif "\x00" in title:
            errors[f"{key}.title"] = "Remove the NUL character."
        step = item.get("step")
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step not in steps):
            errors[f"{key}.step"] = "Not a step of this video's category."
        step = steps.get(step) if isinstance(step, int) and not isinstance(step, bool) else None
        clean.append({"start": start, "title": title.strip() if isinstance(title, str) else "", "step": step})
    if errors:
        raise ValidationError(errors)
    return sorted(clean, key=lambda item: item["start"])


@transaction.atomic
def chapters_replace(*, user, video: Video, items) -> list[Chapter]:
    """Replace ``video``'s chapters with ``items`` (the owner and Editors+)."""
    if not may_write_chapters(video, user):
        raise PermissionDenied("Only the video's owner and editors set its chapters.")
    clean = chapters_clean(video=video, items=items)
    Video.objects.select_for_update().filter(pk=video.pk).values_list("pk").first()  # one writer at a time
    Chapter.objects.filter(video=video).delete()
    chapters = Chapter.objects.bulk_create(
        Chapter(video=video, start=item["start"], title=item["title"], step=item["step"]) for item in clean
    )
    trail.record(AuditEvent.Event.VIDEO_EDIT, actor=user, video=str(video.uuid), fields=["chapters"])
    return chapters


# ------------------------------------------------------------------------------ comments


def _clean_moment(video: Video, data: Mapping, errors: dict, *, at=None, end=None) -> tuple[float | None, float | None]:
    if "at" in data:
        at = _seconds(data["at"], field="at", errors=errors, key="at", allow_null=True)
    if "end" in data:
        end = _seconds(data["end"], field="end", errors=errors, key="end", allow_null=True)
    if "at" in errors or "end" in errors:
        return at, end
    limit = max(video.duration, 0)
    if at is not None and not 0 <= at <= limit:
        errors["at"] = f"A moment within the video: from 0 to {limit:g} seconds."
    if end is not None:
        if at is None:
            errors["end"] = "Give at (the start) with end."
        elif not at < end <= limit:
            errors["end"] = f"After at and no later than {limit:g} seconds."
    return at, end


def _object(data) -> None:
    if not isinstance(data, Mapping):
        raise ValidationError("Send a JSON object: {body, at, end, parent, private}.")


def _clean_body(data: Mapping, errors: dict) -> str:
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        errors["body"] = "Write something."
        return ""
    if len(body) > BODY_MAX:
        errors["body"] = f"At most {BODY_MAX} characters."
    elif "\x00" in body:
        errors["body"] = "Remove the NUL character."
    return body.strip()


def comment_create(*, user, video: Video, data: Mapping) -> Comment:
    """
    A comment by ``user`` on ``video`` (which they may watch): ``body``, optional ``at``/``end``
    within the video, ``parent`` (a top-level comment on the same video they can read: replies
    thread one level), ``private`` (a note only they see). Mentions notify once it is saved.
    """
    _object(data)
    errors: dict[str, str] = {}
    body = _clean_body(data, errors)
    at, end = _clean_moment(video, data, errors)
    private = data.get("private", False)
    if not isinstance(private, bool):
        errors["private"] = "Give true or false."
    parent = None
    parent_id = data.get("parent")
    if parent_id is not None:
        if isinstance(parent_id, bool) or not isinstance(parent_id, int):
            errors["parent"] = "Give the id of the comment you reply to."
        else:
            parent = Comment.objects.visible_to(user).filter(video=video, pk=parent_id).first()
            if parent is None:
                errors["parent"] = "No such comment on this video."
            elif parent.parent_id is not None:
                errors["parent"] = "Reply to the comment itself: replies are one level deep."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        comment = Comment.objects.create(
            video=video, author=user, body=body, at=at, end=end, parent=parent, private=private is True
        )
        if not comment.private:
            _notify_mentions(comment)
    return comment


def comment_update(*, user, comment: Comment, data: Mapping) -> Comment:
    """Change ``body``, ``at`` or ``end`` (its author; Editors+ moderate shared comments)."""
    if not comment.can_change(user):
        raise PermissionDenied("Only its author and editors change a comment.")
    _object(data)
    errors: dict[str, str] = {}
    fields = []
    if "body" in data:
        comment.body = _clean_body(data, errors)
        fields.append("body")
    if "at" in data or "end" in data:
        at, end = _clean_moment(comment.video, data, errors, at=comment.at, end=comment.end)
        if "at" in data and "end" not in data and at is None:
            end = None  # no moment, no range
        comment.at, comment.end = at, end
        fields += ["at", "end"]
    if errors:
        raise ValidationError(errors)
    if fields:
        comment.edited_at = timezone.now()
        comment.save(update_fields=[*fields, "edited_at"])
        if comment.author_id != user.pk:
            trail.record(AuditEvent.Event.VIDEO_EDIT, actor=user, video=str(comment.video.uuid), fields=["comment"])
    return comment


def comment_delete(*, user, comment: Comment) -> None:
    """Delete a comment and its replies (its author; Editors+ moderate shared comments)."""
    if not comment.can_change(user):
        raise PermissionDenied("Only its author and editors delete a comment.")
    if comment.author_id != user.pk:
        trail.record(AuditEvent.Event.VIDEO_EDIT, actor=user, video=str(comment.video.uuid), fields=["comment"])
    # Its mentions (and its replies') go with it: their people's unread counts change.
    notified = set(
        Notification.objects.filter(Q(comment=comment) | Q(comment__parent=comment)).values_list("user_id", flat=True)
    )
    comment.delete()
    for user_id in notified:
        forget_unread(user_id)


def mentioned_usernames(body: str) -> list[str]:
    """``@name`` mentions in ``body``, in order, each once (at most MAX_MENTIONS)."""
    return list(dict.fromkeys(name.lower() for name in MENTION.findall(body)))[:MAX_MENTIONS]


def _notify_mentions(comment: Comment) -> list[Notification]:
    names = mentioned_usernames(comment.body)
    if not names:
        return []
    wanted = Q()
    for name in names:
        wanted |= Q(username__iexact=name)
    candidates = get_user_model().objects.filter(wanted, is_active=True).exclude(pk=comment.author_id)
    # Only people who may see the video hear of it (at most MAX_MENTIONS checks).
    users = [user for user in candidates if Video.objects.visible_to(user).filter(pk=comment.video_id).exists()]
    notifications = Notification.objects.bulk_create(
        Notification(user=user, actor=comment.author, video_id=comment.video_id, comment=comment) for user in users
    )
    for user in users:
        forget_unread(user.pk)
    comment_id = comment.pk
    transaction.on_commit(lambda: [mention_mail_send(comment_id=comment_id, user_id=user.pk) for user in users])
    return notifications


def _site_url(path: str) -> str:
    """An absolute link for an e-mail: ``SITE_URL`` when set, else the current request's host."""
    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    request = current_request()
    if not base and request is not None and hasattr(request, "build_absolute_uri"):
        return request.build_absolute_uri(path)
    return base + path


def mention_mail_send(*, comment_id: int, user_id: int) -> bool:
    """E-mail ``user_id`` that they were mentioned in ``comment_id``. Never raises: a failure is logged."""
    try:
        comment = Comment.objects.select_related("video", "author").filter(pk=comment_id).first()
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if comment is None or user is None or not user.email:
            return False
        link = reverse("videos:watch", kwargs={"video_uuid": comment.video.uuid})
        if comment.at is not None:
            link += f"?t={int(comment.at)}"
        body = render_to_string(
            "teaching/email/mention.txt",
            {"user": user, "comment": comment, "link": _site_url(link), "site_name": settings.SITE_NAME},
        )
        title = " ".join(comment.video.title.split())[:120]
        send_mail(
            subject=f"{settings.SITE_NAME}: {comment.author.username} mentioned you on “{title}”",
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
    except Exception:
        logger.exception("mention notice not sent", extra={"comment_id": comment_id})
        return False
    return True


# ------------------------------------------------------------------------------ notifications


def _unread_key(user_id: int) -> str:
    return f"teaching:unread:v1:{user_id}"


def forget_unread(user_id: int) -> None:
    cache.delete(_unread_key(user_id))


def unread_count(user) -> int:
    """How many notifications ``user`` has not read (cached until one arrives or is read: the header shows it on every page)."""
    if user is None or not user.is_authenticated:
        return 0
    key = _unread_key(user.pk)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(user=user).unread().count()
        cache.set(key, count, 3600)
    return count


def notifications_read(*, user, ids: Sequence[int] | None = None) -> int:
    """Mark ``user``'s notifications (``ids``, or all) read; returns how many changed."""
    rows = Notification.objects.filter(user=user).unread()
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    changed = rows.update(read_at=timezone.now())
    forget_unread(user.pk)
    return changed


# ------------------------------------------------------------------------------ captions


def caption_add(*, user, video: Video, data: bytes | None, language, label) -> Caption:
    """
    A caption track for ``video`` from a WebVTT or SRT file (the owner and Editors+): checked
    (``ValidationError`` naming the line), stored as WebVTT, its cues kept for search. A file in
    the language of the speech-to-text draft is its correction: it replaces the draft's words
    and the track (same id) is no longer machine-made.
    """
    if not may_write_chapters(video, user):
        raise PermissionDenied("Only the video's owner and editors add captions.")
    errors: dict[str, str] = {}
    language = language.strip() if isinstance(language, str) else ""
    if not LANGUAGE.match(language) or len(language) > 35:
        errors["language"] = "Give a BCP 47 language tag, e.g. en or pt-BR."
    label = (label.strip() if isinstance(label, str) else "") or language
    if len(label) > LABEL_MAX:
        errors["label"] = f"At most {LABEL_MAX} characters."
    cues = []
    if data is None:
        errors["file"] = "Attach a WebVTT or SRT file as file."
    else:
        try:
            cues = caption_files.parse(data)
        except caption_files.CaptionError as error:
            errors["file"] = str(error)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock(video)  # against the speech-to-text job writing its draft meanwhile
        caption = Caption.objects.filter(video=video, language__iexact=language, machine_made=True).first()
        if caption is None:
            caption = Caption.objects.create(video=video, language=language, label=label, created_by=user)
        else:
            caption.language, caption.label, caption.machine_made = language, label, False
            caption.created_by, caption.created_at = user, timezone.now()
            caption.save(update_fields=["language", "label", "machine_made", "created_by", "created_at"])
        _caption_store(caption, video, cues)
        trail.record(AuditEvent.Event.VIDEO_EDIT, actor=user, video=str(video.uuid), fields=["captions"])
    return caption


def _lock(video: Video) -> bool:
    """Lock ``video``'s row for this transaction: one writer of its captions at a time (False: it is gone)."""
    return Video.objects.select_for_update().filter(pk=video.pk).values_list("pk").first() is not None


def _caption_store(caption: Caption, video: Video, cues: list[caption_files.Cue]) -> None:
    """``cues`` as ``caption``'s words: its cue rows for search (any earlier ones replaced) and its WebVTT file."""
    CaptionCue.objects.filter(caption=caption).delete()
    CaptionCue.objects.bulk_create(
        (
            CaptionCue(caption=caption, video=video, start=cue.start, end=cue.end, text=cue.plain)
            for cue in cues
            if cue.plain
        ),
        batch_size=1000,
    )
    search.caption_text_refresh([video.pk])
    caption_files.write(video.uuid, caption.pk, caption_files.to_webvtt(cues))


def caption_delete(*, user, caption: Caption) -> None:
    if not may_write_chapters(caption.video, user):
        raise PermissionDenied("Only the video's owner and editors remove captions.")
    with transaction.atomic():
        caption.delete()  # its file goes once committed (teaching.signals), as when the video is deleted
        search.caption_text_refresh([caption.video_id])
        trail.record(AuditEvent.Event.VIDEO_EDIT, actor=user, video=str(caption.video.uuid), fields=["captions"])


# ------------------------------------------------------------------------------ speech-to-text drafts


def on_ladder_complete(sender, *, video: Video, token, first: bool, **kwargs) -> None:
    """
    ``videos.signals.ladder_complete``: with speech-to-text on, transcribe a first ladder, and
    again a video transcribed before (a reprocess, a replaced recording, a privacy cut: the new
    ladder's words and times replace the old draft's).
    """
    if speech.configured() and (first or Transcription.objects.filter(video_id=video.pk).exists()):
        caption_draft_enqueue(video=video)


def caption_draft_enqueue(*, video: Video) -> Transcription:
    """Mark ``video``'s transcription pending and queue it on the transcode cluster once committed."""
    from django_q.tasks import async_task

    transcription, _ = Transcription.objects.update_or_create(
        video=video, defaults={"status": Transcription.Status.PENDING, "reason": "", "updated_at": timezone.now()}
    )
    video_id, name = video.pk, f"captions-stt-{video.uuid}"[:100]
    transaction.on_commit(
        lambda: async_task("teaching.tasks.transcribe", video_id, task_name=name, cluster=settings.Q_TRANSCODE_CLUSTER)
    )
    return transcription


def draft_label(language: str) -> str:
    """What the CC menu calls a draft: "English (automatic, draft)"."""
    try:
        name = get_language_info(language.lower())["name"]
    except KeyError:
        name = language
    return f"{name} (automatic, draft)"[:LABEL_MAX]


def _person_track(video: Video, language: str) -> bool:
    return Caption.objects.filter(video=video, language__iexact=language, machine_made=False).exists()


def _transcription_end(video: Video, status: str, reason: str = "") -> str:
    """Record how ``video``'s transcription ended, and log it (a failure as a warning: someone must act)."""
    Transcription.objects.update_or_create(
        video=video, defaults={"status": status, "reason": reason[:300], "updated_at": timezone.now()}
    )
    log = logger.warning if status == Transcription.Status.FAILED else logger.info
    log("speech-to-text %s", status, extra={"video": str(video.uuid), "reason": reason})
    return f"{status}: {reason}" if reason else status


def caption_draft_run(*, video_id: int) -> str:
    """
    The speech-to-text job: the first audio track of what the ladder was made from (privacy's
    redacted recording when there is one, so times match what plays) as a 16 kHz mono WAV in a
    temporary folder, the transcriber in force, then ``caption_draft_write``. A video with no
    audio, or with a person's track in the language, gets nothing; whatever goes wrong is
    recorded on its ``Transcription`` and logged, never raised.
    """
    video = Video.objects.filter(pk=video_id).first()
    if video is None:
        return "video gone"
    language = (settings.CAPTIONS_STT_LANGUAGE or "").strip()
    try:
        if not LANGUAGE.match(language) or len(language) > 35:
            raise speech.SpeechError("CAPTIONS_STT_LANGUAGE is not a BCP 47 language tag (e.g. en or pt-BR).")
        transcribe = speech.transcriber()
        if _person_track(video, language):
            return _transcription_end(video, Transcription.Status.SKIPPED, f"A person added the {language} captions.")
        source = transcode.transcode_source(video)
        if source is None or not source.exists():
            raise speech.SpeechError("The recording is no longer on disk (originals retention?).")
        if not transcoding.probe(source).has_audio:
            return _transcription_end(video, Transcription.Status.SKIPPED, "The recording has no audio track.")
        with tempfile.TemporaryDirectory(prefix="svl-stt-", dir=settings.TRANSCODE_TMP_DIR) as folder:
            wav = Path(folder) / "audio.wav"
            deadline = time.monotonic() + settings.TRANSCODE_TIMEOUT_SECONDS
            result = transcoding.run(speech.audio_command(source=source, target=wav), deadline=deadline)
            if result.returncode != 0 or not wav.exists():
                raise speech.SpeechError(transcoding.without_paths(transcoding.failure_reason(result)))
            segments = transcribe(wav, language)
        cues = speech.cues_from(segments, duration=video.duration)
    except (speech.SpeechError, transcoding.MediaError) as error:
        return _transcription_end(video, Transcription.Status.FAILED, str(error))
    except Exception as error:  # the transcriber is the hospital's code or model: record, never crash the worker
        logger.exception("speech-to-text transcriber failed", extra={"video": str(video.uuid)})
        return _transcription_end(
            video,
            Transcription.Status.FAILED,
            f"The transcriber failed ({type(error).__name__}); see the worker's log.",
        )
    return caption_draft_write(video=video, language=language, cues=cues)


@transaction.atomic
def caption_draft_write(*, video: Video, language: str, cues: list[caption_files.Cue]) -> str:
    """
    ``cues`` as ``video``'s machine-made draft in ``language``, replacing the previous draft
    and nothing else: a track a person added in that language meanwhile wins (nothing written).
    """
    if not _lock(video):
        return "video gone"
    if _person_track(video, language):
        return _transcription_end(video, Transcription.Status.SKIPPED, f"A person added the {language} captions.")
    for old in Caption.objects.filter(video=video, machine_made=True):
        old.delete()  # its file goes once committed (teaching.signals)
    search.caption_text_refresh([video.pk])
    if not cues:
        return _transcription_end(video, Transcription.Status.SKIPPED, "No speech was recognised in the recording.")
    caption = Caption.objects.create(video=video, language=language, label=draft_label(language), machine_made=True)
    _caption_store(caption, video, cues)
    trail.record(AuditEvent.Event.VIDEO_EDIT, video=str(video.uuid), fields=["captions"], source="speech-to-text")
    _transcription_end(video, Transcription.Status.DONE)
    return f"done: {len(cues)} cue(s)"
