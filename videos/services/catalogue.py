"""
Curating the catalogue: adding a tag, category or surgeon, merging duplicates, and attaching
one tag, category or surgeon to many videos at once. The API and the admin actions call
these; so may any later door (command).

Every function is atomic, checks the caller's permissions itself, writes its audit entries
in the same transaction and leaves ``Video.search_terms`` right: bulk writes send no
signals, so each one ends with ``search_index.refresh`` for the videos it touched.

Audit policy for the bulk video edits: one ``VIDEO_EDIT`` entry *per video actually
changed* (the same shape as :func:`videos.services.metadata.video_update`, plus ``bulk=True`` and the
value), so a video's history is complete when the audit trail is filtered by its id. Videos
that already had the tag, category or surgeon are left alone and get no entry.
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent

from .. import search_index
from ..models import Category, Surgeon, Tag, Video, VideoSurgeon

Event = AuditEvent.Event

# Most significant first: when a merge leaves one surgeon twice on a video, this role stays.
ROLE_SIGNIFICANCE = list(VideoSurgeon.Role.values)


# ------------------------------------------------------------------------------ adding


@transaction.atomic
def catalogue_add(*, model, user, name: str, specialty: str = "", description: str = ""):
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


# ------------------------------------------------------------------------------ merging


def _check_merge(*, user, model, keep, others) -> list:
    """The rows to fold into ``keep``; refuses without change + delete rights on ``model``."""
    opts = model._meta
    if not (
        user.is_active
        and user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
        and user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")
    ):
        raise PermissionDenied(f"You may not merge {opts.verbose_name_plural}.")
    if not isinstance(keep, model) or keep.pk is None:
        raise ValidationError(f"Choose the {opts.verbose_name} to keep.", code="invalid")
    others = [other for other in others if other.pk != keep.pk]
    if not others:
        raise ValidationError(f"Select at least two {opts.verbose_name_plural} to merge.", code="too_few")
    if any(not isinstance(other, model) for other in others):
        raise ValidationError(f"Only {opts.verbose_name_plural} can be merged here.", code="invalid")
    # Lock the rows so a concurrent edit or merge waits for this one (no-op on SQLite).
    wanted = {keep.pk, *(other.pk for other in others)}
    locked = set(model.objects.select_for_update().filter(pk__in=wanted).values_list("pk", flat=True))
    if locked != wanted:
        raise ValidationError(f"Some of these {opts.verbose_name_plural} no longer exist.", code="gone")
    return others


def _finish_merge(*, user, model, keep, others, video_ids) -> int:
    model.objects.filter(pk__in=[other.pk for other in others]).delete()
    search_index.refresh(video_ids)
    trail.record(
        Event.CATALOGUE_MERGE,
        actor=user,
        model=model._meta.model_name,
        kept={"id": keep.pk, "name": keep.name},
        merged=[{"id": other.pk, "name": other.name} for other in others],
        videos=len(video_ids),
    )
    return len(video_ids)


@transaction.atomic
def merge_tags(*, user, keep: Tag, others: Iterable[Tag]) -> int:
    """
    Fold ``others`` into ``keep``: every video tagged with one of them is tagged ``keep``
    (once), then ``others`` are deleted. Returns how many videos were re-pointed.
    """
    others = _check_merge(user=user, model=Tag, keep=keep, others=others)
    through = Video.tags.through
    video_ids = set(through.objects.filter(tag__in=others).values_list("video_id", flat=True))
    tagged = set(through.objects.filter(tag=keep, video_id__in=video_ids).values_list("video_id", flat=True))
    through.objects.bulk_create([through(video_id=pk, tag_id=keep.pk) for pk in sorted(video_ids - tagged)])
    return _finish_merge(user=user, model=Tag, keep=keep, others=others, video_ids=video_ids)


@transaction.atomic
def merge_categories(*, user, keep: Category, others: Iterable[Category]) -> int:
    """
    Fold ``others`` into ``keep``: their videos move to ``keep``, then ``others`` are
    deleted. ``keep`` takes a merged category's description if it has none of its own.
    Returns how many videos were re-pointed.
    """
    others = _check_merge(user=user, model=Category, keep=keep, others=others)
    video_ids = set(Video.objects.filter(category__in=others).values_list("pk", flat=True))
    Video.objects.filter(pk__in=video_ids).update(category=keep, updated_at=timezone.now())
    if not keep.description:
        description = next((other.description for other in others if other.description), "")
        if description:
            keep.description = description
            keep.save(update_fields=["description"])
    return _finish_merge(user=user, model=Category, keep=keep, others=others, video_ids=video_ids)


@transaction.atomic
def merge_surgeons(*, user, keep: Surgeon, others: Iterable[Surgeon]) -> int:
    """
    Fold ``others`` into ``keep``: every video credits ``keep`` instead, once per video
    (``video_surgeon_unique``) with the most significant role any of them had there (primary
    before assistant, anaesthetist, observer, other); then ``others`` are deleted. ``keep``
    takes the specialty, biography and linked account of a merged surgeon where it has none.
    Returns how many videos were re-pointed.
    """
    others = _check_merge(user=user, model=Surgeon, keep=keep, others=others)
    other_ids = [other.pk for other in others]
    video_ids = set(VideoSurgeon.objects.filter(surgeon_id__in=other_ids).values_list("video_id", flat=True))
    best: dict[int, str] = {}
    for video_id, role in VideoSurgeon.objects.filter(
        video_id__in=video_ids, surgeon_id__in=[keep.pk, *other_ids]
    ).values_list("video_id", "role"):
        if video_id not in best or ROLE_SIGNIFICANCE.index(role) < ROLE_SIGNIFICANCE.index(best[video_id]):
            best[video_id] = role
    current = {row.video_id: row for row in VideoSurgeon.objects.filter(surgeon=keep, video_id__in=video_ids)}
    VideoSurgeon.objects.filter(surgeon_id__in=other_ids).delete()
    for video_id, row in current.items():
        if row.role != best[video_id]:
            row.role = best[video_id]
            row.save(update_fields=["role"])
    VideoSurgeon.objects.bulk_create(
        [
            VideoSurgeon(video_id=video_id, surgeon_id=keep.pk, role=best[video_id])
            for video_id in sorted(video_ids - set(current))
        ]
    )
    filled = []
    for field in ("specialty", "bio", "user"):
        if not getattr(keep, field):
            value = next((getattr(other, field) for other in others if getattr(other, field)), None)
            if value:
                setattr(keep, field, value)
                filled.append(field)
    if filled:
        keep.save(update_fields=filled)
    return _finish_merge(user=user, model=Surgeon, keep=keep, others=others, video_ids=video_ids)


# ------------------------------------------------------------------------------ bulk edits


def _check_bulk(user) -> None:
    if not (user.is_active and user.has_perm("videos.change_video")):
        raise PermissionDenied("Only editors may change videos in bulk.")


def _finish_bulk(*, user, video_ids, field: str, **detail) -> int:
    if not video_ids:
        return 0
    Video.objects.filter(pk__in=video_ids).update(updated_at=timezone.now())
    search_index.refresh(video_ids)
    for uuid in Video.objects.filter(pk__in=video_ids).order_by("pk").values_list("uuid", flat=True):
        trail.record(Event.VIDEO_EDIT, actor=user, video=str(uuid), fields=[field], bulk=True, **detail)
    return len(video_ids)


def _ids(videos) -> list[int]:
    return sorted({video.pk for video in videos})


@transaction.atomic
def add_tag(*, user, videos: Iterable[Video], tag: Tag) -> int:
    """Tag every one of ``videos`` with ``tag``; returns how many did not have it yet."""
    _check_bulk(user)
    through = Video.tags.through
    ids = _ids(videos)
    tagged = set(through.objects.filter(tag=tag, video_id__in=ids).values_list("video_id", flat=True))
    missing = [pk for pk in ids if pk not in tagged]
    through.objects.bulk_create([through(video_id=pk, tag_id=tag.pk) for pk in missing])
    return _finish_bulk(user=user, video_ids=missing, field="tags", tag=tag.name)


@transaction.atomic
def set_category(*, user, videos: Iterable[Video], category: Category | None) -> int:
    """Put every one of ``videos`` in ``category`` (``None`` clears it); returns how many changed."""
    _check_bulk(user)
    ids = _ids(videos)
    # Only this column is written, so a transcoding job saving the same rows is not undone.
    rows = Video.objects.filter(pk__in=ids)
    changing = rows.exclude(category=category) if category else rows.filter(category__isnull=False)
    changed = list(changing.values_list("pk", flat=True))
    Video.objects.filter(pk__in=changed).update(category=category)
    return _finish_bulk(user=user, video_ids=changed, field="category", category=category.name if category else "")


@transaction.atomic
def add_surgeon(*, user, videos: Iterable[Video], surgeon: Surgeon, role: str = VideoSurgeon.Role.PRIMARY) -> int:
    """
    Credit ``surgeon`` in ``role`` on every one of ``videos``. A video that already credits
    them keeps its existing role. Returns how many videos gained the surgeon.
    """
    _check_bulk(user)
    if role not in VideoSurgeon.Role.values:
        raise ValidationError({"role": f"Unknown surgeon role “{role}”."})
    ids = _ids(videos)
    credited = set(VideoSurgeon.objects.filter(surgeon=surgeon, video_id__in=ids).values_list("video_id", flat=True))
    missing = [pk for pk in ids if pk not in credited]
    VideoSurgeon.objects.bulk_create([VideoSurgeon(video_id=pk, surgeon=surgeon, role=role) for pk in missing])
    return _finish_bulk(user=user, video_ids=missing, field="surgeons", surgeon=surgeon.name, role=role)
