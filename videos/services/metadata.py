"""
A video's metadata — title, description, transcript, category, tags, surgeons, date of
surgery — and its one set of rules.

``metadata_clean`` is the only place those rules are written. Every door shapes its input and
hands it over as it came: the API's JSON or form body, the edit page's form, the admin form,
a multipart upload's fields, a tus upload's ``Upload-Metadata`` (strings or lists alike).
Given the video, it also works out which fields the input would change, so every door
changes, and audits, the same fields for the same input.
"""

import re
from collections.abc import Mapping
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent

from .. import rights, search_index
from ..models import Category, Surgeon, Tag, Video, VideoSurgeon

FIELDS = ("title", "description", "transcript", "category", "tags", "surgeons", "date_of_surgery")
METADATA_FIELDS = frozenset(FIELDS)
# The fields stored on the video row itself (category, tags and surgeons name catalogue rows).
COLUMNS = ("title", "description", "transcript", "date_of_surgery")

TITLE_MAX = Video._meta.get_field("title").max_length
TEXT_MAX = 200_000
CATEGORY_MAX = Category._meta.get_field("name").max_length
TAG_MAX = Tag._meta.get_field("name").max_length
# Ids are BIGINT: a larger number is no id, and SQLite cannot even compare with one (OverflowError).
MAX_ID = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,20}")


def names_split(value) -> list[str]:
    """
    The names in ``value``: a comma-separated string ("a, b"), or a list whose items may be
    one ("a", "b, c"). Blanks are dropped; anything but text is refused.
    """
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise ValidationError("Give names as text, separated by commas or as a list.")
    return [name.strip() for item in items for name in item.split(",") if name.strip()]


def metadata_given(data: Mapping) -> dict:
    """
    The metadata fields of ``data`` that carry a value. An upload's form fields or tus
    ``Upload-Metadata`` hold other keys too (the file, its type), and an empty field there
    means "not given".
    """
    return {key: value for key, value in data.items() if key in METADATA_FIELDS and value not in (None, "", [])}


# ------------------------------------------------------------------------------ the rules


def _text(value) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError("Must be text.")
    if "\x00" in value:  # PostgreSQL cannot store it in a text column
        raise ValidationError("Null characters are not allowed.")
    return value.strip()


def _clean_title(value, user) -> str:
    title = _text(value)
    if not title:
        raise ValidationError("A title is required.")
    if len(title) > TITLE_MAX:
        raise ValidationError(f"Titles are at most {TITLE_MAX} characters.")
    return title


def _clean_long_text(value, user) -> str:
    text = _text(value)
    if len(text) > TEXT_MAX:
        raise ValidationError("Too long.")
    return text


def _clean_date(value, user) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError("Use an ISO date, e.g. 2026-03-14.")
    if parsed > timezone.localdate():
        raise ValidationError("The date of surgery cannot be in the future.")
    return parsed


def _clean_category(value, user) -> Category | str | None:
    """The category row, or the name of a new one (created on save; only for editors), or None."""
    name = _text(value)
    if not name:
        return None
    if len(name) > CATEGORY_MAX:
        raise ValidationError(f"Category names are at most {CATEGORY_MAX} characters.")
    category = Category.objects.filter(name__iexact=name).first()
    if category is None and not rights.may_add_to_catalogue(user, Category):
        raise ValidationError(f"Unknown category “{name}”. Ask an editor to add it.")
    return category or name


def _clean_tags(value, user) -> tuple[list[Tag], list[str]]:
    """The tags that exist, and the names of new ones (created on save; only for editors)."""
    names: dict[str, str] = {}
    for name in names_split(value or []):
        names.setdefault(name.lower(), name)  # one tag per name, whatever its case
    if any("\x00" in name for name in names.values()):
        raise ValidationError("Null characters are not allowed.")
    if any(len(name) > TAG_MAX for name in names.values()):
        raise ValidationError(f"Tags are at most {TAG_MAX} characters.")
    existing = list(Tag.objects.by_names(list(names.values())))
    found = {tag.name.lower() for tag in existing}
    missing = [name for key, name in names.items() if key not in found]
    if missing and not rights.may_add_to_catalogue(user, Tag):
        raise ValidationError(f"Unknown tag(s): {', '.join(missing)}. Ask an editor to add them.")
    return existing, missing


def _surgeon_id(value) -> int:
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("Give surgeons as ids or {id, role}.")
    if not 1 <= value <= MAX_ID:
        raise ValidationError("Unknown surgeon id.")
    return value


def _clean_surgeons(value, user) -> list[tuple[Surgeon, str]]:
    """``(surgeon, role)`` in the order given; a surgeon named twice keeps its place and takes the last role."""
    entries = names_split(value) if isinstance(value, str) else (value or [])
    if not isinstance(entries, list | tuple):
        raise ValidationError("Give surgeons as ids or {id, role}.")
    roles: dict[int, str] = {}
    for entry in entries:
        surgeon_id, role = (entry.get("id"), entry.get("role")) if isinstance(entry, dict) else (entry, None)
        role = role or VideoSurgeon.Role.PRIMARY
        if not isinstance(role, str) or role not in VideoSurgeon.Role.values:
            raise ValidationError(f"Unknown surgeon role “{role}”.")
        roles[_surgeon_id(surgeon_id)] = role
    found = Surgeon.objects.in_bulk(list(roles))
    if len(found) != len(roles):
        raise ValidationError("Unknown surgeon id.")
    return [(found[pk], role) for pk, role in roles.items()]


_CLEANERS = {
    "title": _clean_title,
    "description": _clean_long_text,
    "transcript": _clean_long_text,
    "date_of_surgery": _clean_date,
    "category": _clean_category,
    "tags": _clean_tags,
    "surgeons": _clean_surgeons,
}


def _unchanged(video: Video, field: str, value) -> bool:
    if field in COLUMNS:
        return getattr(video, field) == value
    if field == "category":
        if isinstance(value, str):  # a name new to the catalogue
            return False
        return video.category_id == (value.pk if value else None)
    if field == "tags":
        existing, missing = value
        return not missing and {tag.pk for tag in existing} == {tag.pk for tag in video.tags.all()}
    current = [(role.surgeon_id, role.role) for role in video.video_surgeons.all()]
    return [(surgeon.pk, role) for surgeon, role in value] == current


def metadata_clean(*, user, data: Mapping, video: Video | None = None) -> dict:
    """
    Check ``data`` (any of ``FIELDS``, each as text or a list) for ``user`` and resolve names
    to rows: ``category`` and ``tags`` are names in any case, new ones allowed to editors only;
    ``surgeons`` are ids or ``{"id", "role"}``, as a list or a comma-separated string. With
    ``video``, only the fields whose value would change are returned. Raises
    ``ValidationError`` naming every field refused; the result is for ``metadata_apply``.
    """
    unknown = set(data) - METADATA_FIELDS
    if unknown:
        raise ValidationError({field: "This field cannot be set." for field in sorted(unknown)})
    clean, errors = {}, {}
    for field, value in data.items():
        try:
            clean[field] = _CLEANERS[field](value, user)
        except ValidationError as error:
            errors[field] = error
    if errors:
        raise ValidationError(errors)
    if video is not None:
        clean = {field: value for field, value in clean.items() if not _unchanged(video, field, value)}
    return clean


# ------------------------------------------------------------------------------ writing


def metadata_apply(video: Video, clean: dict) -> list[str]:
    """Write what ``metadata_clean`` returned to ``video`` (creating new catalogue names); returns the fields."""
    changed = [field for field in COLUMNS if field in clean]
    for field in changed:
        setattr(video, field, clean[field])
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
            [VideoSurgeon(video=video, surgeon=surgeon, role=role) for surgeon, role in clean["surgeons"]]
        )
        changed.append("surgeons")
    if {"tags", "surgeons", "category"} & set(changed):
        search_index.refresh([video.pk])  # bulk_create above sends no signals
    return changed


@transaction.atomic
def video_update(*, user, video: Video, **data) -> list[str]:
    """
    Edit a video's metadata (its owner with upload rights, or an editor). Only the fields
    whose value changes are written and audited; returns them (none: nothing was changed).
    """
    if not video.can_edit(user):
        raise PermissionDenied("You may not edit this video.")
    clean = metadata_clean(user=user, data=data, video=video)
    # Re-read under a lock: the job's progress saves and another edit wait for this one.
    video = Video.objects.select_for_update().get(pk=video.pk)
    changed = metadata_apply(video, clean)
    if changed:
        trail.record(AuditEvent.Event.VIDEO_EDIT, actor=user, video=str(video.uuid), fields=sorted(changed))
    return changed
