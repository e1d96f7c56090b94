"""
Searching the catalogue: one place for the text match, the filters, the ordering and the
facet counts, used by the API (and the search page).

This first version matches every word of the query (in any order) against title,
description, transcript, tags, category and surgeon names with case-insensitive
containment, ranked by where the words were found (title > tags/surgeons/category >
description > transcript). It runs the same on SQLite and PostgreSQL; PostgreSQL
full-text ranking, typo tolerance and synonyms are the next step behind this same function.
"""

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Sum, Value, When

from videos.models import Surgeon, Tag, Video, VideoSurgeon

ORDERINGS = {
    "relevance": None,  # by rank, then newest
    "-created": ["-created_at", "-id"],
    "created": ["created_at", "id"],
    "-views": ["-views", "-created_at"],
    "duration": ["duration", "-created_at"],
    "-duration": ["-duration", "-created_at"],
    "title": ["title", "id"],
    "-date_of_surgery": ["-date_of_surgery", "-created_at"],
}
# Facet buckets for duration, in minutes: (key, label, low, high).
DURATION_BUCKETS = [
    ("lt15", "Under 15 min", 0, 15),
    ("15-45", "15–45 min", 15, 45),
    ("45-90", "45–90 min", 45, 90),
    ("90-180", "1.5–3 h", 90, 180),
    ("gt180", "Over 3 h", 180, None),
]


@dataclass
class SearchParams:
    q: str = ""
    tags: list[str] = field(default_factory=list)
    tags_all: bool = False
    surgeons: list[int] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    duration_min: float | None = None
    duration_max: float | None = None
    date_from: date | None = None
    date_to: date | None = None
    uploaded_from: date | None = None
    uploaded_to: date | None = None
    uploader: str = ""
    status: str = ""
    ordering: str = "relevance"


def _names(query, key) -> list[str]:
    return [part.strip() for value in query.getlist(key) for part in value.split(",") if part.strip()]


def parse_params(query) -> SearchParams:
    """Read search parameters from a QueryDict; a malformed one is a ValidationError naming it."""
    errors: dict[str, str] = {}
    params = SearchParams(q=(query.get("q") or "").strip()[:200])
    params.tags = _names(query, "tags")
    params.categories = _names(query, "category")
    params.tags_all = (query.get("tags_mode") or "any") == "all"
    if query.get("tags_mode") not in (None, "", "any", "all"):
        errors["tags_mode"] = "Use any or all."
    for raw in _names(query, "surgeons"):
        if not raw.isdigit():
            errors["surgeons"] = "Give surgeon ids (numbers)."
            break
        params.surgeons.append(int(raw))
    for key in ("duration_min", "duration_max"):
        raw = query.get(key)
        if raw not in (None, ""):
            try:
                value = float(raw)
                if value < 0 or value != value:
                    raise ValueError
                setattr(params, key, value)
            except ValueError:
                errors[key] = "Give a number of seconds (0 or more)."
    for key in ("date_from", "date_to", "uploaded_from", "uploaded_to"):
        raw = query.get(key)
        if raw not in (None, ""):
            try:
                setattr(params, key, date.fromisoformat(raw))
            except ValueError:
                errors[key] = "Give an ISO date, e.g. 2026-03-14."
    params.uploader = (query.get("uploader") or "").strip()
    params.status = (query.get("status") or "").strip()
    if params.status and params.status not in Video.Status.values:
        errors["status"] = f"Unknown status “{params.status}”."
    params.ordering = query.get("ordering") or "relevance"
    if params.ordering not in ORDERINGS:
        errors["ordering"] = f"Use one of: {', '.join(ORDERINGS)}."
    if errors:
        raise ValidationError(errors)
    return params


def _word_match(word: str) -> tuple[Q, Case]:
    """Where one word may appear, and how much each place is worth."""
    tag = Exists(Tag.objects.filter(videos=OuterRef("pk"), name__icontains=word))
    surgeon = Exists(VideoSurgeon.objects.filter(video=OuterRef("pk"), surgeon__name__icontains=word))
    in_title = Q(title__icontains=word)
    in_category = Q(category__name__icontains=word)
    in_description = Q(description__icontains=word)
    in_transcript = Q(transcript__icontains=word)
    match = in_title | in_category | in_description | in_transcript | Q(tag) | Q(surgeon)
    score = (
        Case(When(in_title, then=Value(8)), default=Value(0), output_field=IntegerField())
        + Case(When(Q(tag), then=Value(4)), default=Value(0), output_field=IntegerField())
        + Case(When(Q(surgeon), then=Value(4)), default=Value(0), output_field=IntegerField())
        + Case(When(in_category, then=Value(3)), default=Value(0), output_field=IntegerField())
        + Case(When(in_description, then=Value(2)), default=Value(0), output_field=IntegerField())
        + Case(When(in_transcript, then=Value(1)), default=Value(0), output_field=IntegerField())
    )
    return match, score


def search_videos(*, user, params: SearchParams):
    """The videos ``user`` may see that match ``params``, ordered as asked."""
    videos = Video.objects.visible_to(user)
    if params.status:
        videos = videos.filter(status=params.status)
    words = [word for word in params.q.split() if word][:8]
    rank = None
    for word in words:
        match, score = _word_match(word)
        videos = videos.filter(match)
        rank = score if rank is None else rank + score
    if params.tags:
        if params.tags_all:
            for name in params.tags:
                videos = videos.filter(Exists(Tag.objects.filter(videos=OuterRef("pk"), name__iexact=name)))
        else:
            names = Q()
            for name in params.tags:
                names |= Q(name__iexact=name)
            videos = videos.filter(Exists(Tag.objects.filter(names, videos=OuterRef("pk"))))
    if params.categories:
        names = Q()
        for name in params.categories:
            names |= Q(category__name__iexact=name)
        videos = videos.filter(names)
    if params.surgeons:
        videos = videos.filter(
            Exists(VideoSurgeon.objects.filter(video=OuterRef("pk"), surgeon_id__in=params.surgeons))
        )
    if params.duration_min is not None:
        videos = videos.filter(duration__gte=params.duration_min)
    if params.duration_max is not None:
        videos = videos.filter(duration__lte=params.duration_max)
    if params.date_from:
        videos = videos.filter(date_of_surgery__gte=params.date_from)
    if params.date_to:
        videos = videos.filter(date_of_surgery__lte=params.date_to)
    if params.uploaded_from:
        videos = videos.filter(created_at__date__gte=params.uploaded_from)
    if params.uploaded_to:
        videos = videos.filter(created_at__date__lte=params.uploaded_to)
    if params.uploader:
        videos = videos.filter(uploader__username__iexact=params.uploader)
    order = ORDERINGS[params.ordering]
    if order is None:
        # Relevance without a query means newest first (the seed answered 500 here).
        if rank is None:
            return videos.order_by("-created_at", "-id")
        return videos.annotate(rank=rank).order_by("-rank", "-created_at", "-id")
    return videos.order_by(*order)


def facets(videos) -> dict:
    """Counts per category, tag, surgeon and duration bucket for ``videos`` (a handful of queries)."""
    ids = videos.order_by().values("pk")
    categories = (
        Video.objects.filter(pk__in=ids, category__isnull=False)
        .values("category__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "category__name")[:30]
    )
    tags = (
        Tag.objects.filter(videos__in=ids)
        .annotate(count=Count("videos", distinct=True))
        .order_by("-count", "name")[:30]
    )
    surgeons = (
        Surgeon.objects.filter(video_roles__video__in=ids)
        .annotate(count=Count("video_roles__video", distinct=True))
        .order_by("-count", "name")[:30]
    )
    bucket_sums = {
        key: Sum(
            Case(
                When(
                    Q(duration__gte=low * 60) & (Q(duration__lt=high * 60) if high else Q()),
                    then=Value(1),
                ),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        for key, _, low, high in DURATION_BUCKETS
    }
    buckets = Video.objects.filter(pk__in=ids).aggregate(**bucket_sums)
    return {
        "categories": [{"name": row["category__name"], "count": row["count"]} for row in categories],
        "tags": [{"name": tag.name, "count": tag.count} for tag in tags],
        "surgeons": [{"id": s.pk, "name": s.name, "count": s.count} for s in surgeons],
        "duration": [
            {
                "key": key,
                "label": label,
                "min_seconds": low * 60,
                "max_seconds": high * 60 if high else None,
                "count": buckets[key] or 0,
            }
            for key, label, low, high in DURATION_BUCKETS
        ],
    }
