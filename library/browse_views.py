"""
Browse pages: the search page (results, clickable facets, active-filter chips), and the
category, tag and surgeon pages with their indexes.

Every list starts from ``Video.objects.visible_to(user)`` (the search through
``search.run``), so a video someone may not see never appears, and costs a
constant number of queries whatever the page size (tests/library/test_browse_pages.py). Links are
built from the parsed parameters, not the raw query string, so every link on a page names
the same filters in the same form.
"""

import math
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404, render
from django.views.generic import ListView

from teaching import search as teaching_search
from videos import delivery, rights
from videos.models import Category, Surgeon, Tag, Video, VideoSurgeon

from . import search

PER_PAGE = 24
SORT_LABELS = {
    "relevance": "Best match",
    "-created": "Newest",
    "created": "Oldest",
    "-views": "Most viewed",
    "duration": "Shortest",
    "-duration": "Longest",
    "title": "Title (A–Z)",
    "-date_of_surgery": "Date of surgery (latest)",
}
# How a malformed parameter is named in the page's error message.
FIELD_LABELS = {
    "q": "Search words",
    "tags": "Tags",
    "tags_mode": "Tag matching",
    "surgeons": "Surgeons",
    "steps": "Steps",
    "category": "Category",
    "duration_min": "Shortest duration",
    "duration_max": "Longest duration",
    "date_from": "Operated from",
    "date_to": "Operated until",
    "uploaded_from": "Uploaded from",
    "uploaded_to": "Uploaded until",
    "uploader": "Uploader",
    "status": "Status",
    "ordering": "Sort order",
}
# Parameters the filter form edits itself; the others travel in it as hidden fields.
_FORM_FIELDS = {"tags_mode", "duration_min", "duration_max", "date_from", "date_to", "uploaded_from", "uploaded_to"}
# The filter form asks for minutes; the search takes seconds.
_MINUTE_FIELDS = {"minutes_min": "duration_min", "minutes_max": "duration_max"}


class _Links:
    """URLs of the current listing with one parameter changed; a changed listing starts at page 1."""

    def __init__(self, path: str, pairs: list[tuple[str, str]]):
        self.path = path
        self.pairs = pairs

    def url(self, pairs=None) -> str:
        pairs = self.pairs if pairs is None else pairs
        return f"{self.path}?{urlencode(pairs)}" if pairs else self.path

    def without(self, key: str, value=None) -> str:
        def drop(pair):
            return pair[0] == key and (value is None or pair[1].lower() == str(value).lower())

        return self.url([pair for pair in self.pairs if not drop(pair)])

    def adding(self, key: str, value) -> str:
        return self.url([*self.pairs, (key, str(value))])

    def setting(self, **values) -> str:
        """Replace the named parameters (a value of None removes one)."""
        kept = [pair for pair in self.pairs if pair[0] not in values]
        return self.url(kept + [(key, str(value)) for key, value in values.items() if value is not None])

    def page(self, number: int) -> str:
        return self.url(self.pairs + ([("page", str(number))] if number > 1 else []))


def _number(value: float) -> str:
    """A number for a URL or an input: no ".0" on whole numbers."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _paginate(request, page, links: _Links) -> dict:
    """
    ``page`` (of videos; from ``Paginator.get_page``: a page number that is not a number gives
    page 1, one past the end the last page, never an error) with poster URLs, and its page links.
    """
    page.object_list = delivery.attach_poster_urls(page.object_list, request.user)
    last = page.paginator.num_pages
    numbers = sorted({1, last, *range(max(1, page.number - 2), min(last, page.number + 2) + 1)})
    items, previous = [], 0
    for number in numbers:
        if number - previous > 1:
            items.append(None)  # a gap, shown as "…"
        items.append({"number": number, "url": links.page(number), "current": number == page.number})
        previous = number
    return {
        "page_obj": page,
        "pagination": {
            "items": items,
            "previous": links.page(page.number - 1) if page.has_previous() else "",
            "next": links.page(page.number + 1) if page.has_next() else "",
        },
    }


def _sort_options(keys) -> list[tuple[str, str]]:
    return [(key, SORT_LABELS.get(key, key)) for key in keys]


# ------------------------------------------------------------------------------ search


def _search_query(request):
    """The GET parameters with the form's minutes turned into seconds, and the errors in doing so."""
    query = request.GET.copy()
    errors = {}
    for field, key in _MINUTE_FIELDS.items():
        if field not in query:
            continue
        raw = (query.pop(field)[-1] or "").strip()
        query.pop(key, None)
        if not raw:
            continue
        try:
            minutes = float(raw)
        except ValueError:
            minutes = -1
        if minutes < 0 or not math.isfinite(minutes):
            errors[key] = "Give a number of minutes (0 or more)."
            continue
        query[key] = _number(minutes * 60)
    return query, errors


def _search_pairs(params: search.SearchParams) -> list[tuple[str, str]]:
    """``params`` as query-string pairs, in one canonical form."""
    pairs = [("q", params.q)] if params.q else []
    pairs += [("category", name) for name in params.categories]
    pairs += [("tags", name) for name in params.tags]
    if params.tags_all:
        pairs.append(("tags_mode", "all"))
    pairs += [("surgeons", str(pk)) for pk in params.surgeons]
    pairs += [("steps", str(pk)) for pk in params.steps]
    for key in ("duration_min", "duration_max"):
        if getattr(params, key) is not None:
            pairs.append((key, _number(getattr(params, key))))
    for key in ("date_from", "date_to", "uploaded_from", "uploaded_to"):
        if getattr(params, key):
            pairs.append((key, getattr(params, key).isoformat()))
    if params.uploader:
        pairs.append(("uploader", params.uploader))
    if params.status:
        pairs.append(("status", params.status))
    if params.ordering != "relevance":
        pairs.append(("ordering", params.ordering))
    return pairs


def _minutes_label(seconds: float) -> str:
    return f"{_number(round(seconds / 60, 1))} min"


def _facets(params: search.SearchParams, counts: dict, links: _Links) -> dict:
    """Each facet value with its count, whether it is selected, and the link that toggles it."""

    def entries(rows, key, selected, value_of):
        chosen = {str(value).lower() for value in selected}
        result = []
        for row in rows:
            value = value_of(row)
            active = str(value).lower() in chosen
            url = links.without(key, value) if active else links.adding(key, value)
            result.append({**row, "active": active, "url": url})
        return result

    duration = []
    for bucket in counts["duration"]:
        low, high = bucket["min_seconds"], bucket["max_seconds"]
        active = params.duration_min == low and params.duration_max == high
        if active:
            url = links.setting(duration_min=None, duration_max=None)
        else:
            url = links.setting(duration_min=_number(low), duration_max=_number(high) if high is not None else None)
        duration.append({**bucket, "active": active, "url": url})
    return {
        "categories": entries(counts["categories"], "category", params.categories, lambda row: row["name"]),
        "tags": entries(counts["tags"], "tags", params.tags, lambda row: row["name"]),
        "surgeons": entries(counts["surgeons"], "surgeons", params.surgeons, lambda row: row["id"]),
        "steps": entries(counts["steps"], "steps", params.steps, lambda row: row["id"]),
        "duration": duration,
    }


def _chips(params: search.SearchParams, links: _Links, surgeon_names: dict, step_names: dict) -> list[dict]:
    """One removable chip per active filter."""
    chips = [{"label": f"category: {name}", "url": links.without("category", name)} for name in params.categories]
    chips += [
        {"label": f"step: {step_names.get(pk, f'#{pk}')}", "url": links.without("steps", pk)} for pk in params.steps
    ]
    chips += [{"label": f"tag: {name}", "url": links.without("tags", name)} for name in params.tags]
    if params.tags_all and len(params.tags) > 1:
        chips.append({"label": "all tags must match", "url": links.without("tags_mode")})
    chips += [
        {"label": f"surgeon: {surgeon_names.get(pk, f'#{pk}')}", "url": links.without("surgeons", pk)}
        for pk in params.surgeons
    ]
    for key, label in (("duration_min", "at least"), ("duration_max", "at most")):
        if getattr(params, key) is not None:
            chips.append({"label": f"{label} {_minutes_label(getattr(params, key))}", "url": links.without(key)})
    for key, label in (
        ("date_from", "operated from"),
        ("date_to", "operated until"),
        ("uploaded_from", "uploaded from"),
        ("uploaded_to", "uploaded until"),
    ):
        if getattr(params, key):
            day = getattr(params, key)
            chips.append({"label": f"{label} {day.day} {day:%b %Y}", "url": links.without(key)})
    if params.uploader:
        chips.append({"label": f"uploader: {params.uploader}", "url": links.without("uploader")})
    if params.status:
        chips.append({"label": f"status: {Video.Status(params.status).label}", "url": links.without("status")})
    return chips


@login_required
def search_page(request):
    """Search the videos the user may see; malformed parameters give a 400 page naming them."""
    user = request.user
    query, errors = _search_query(request)
    try:
        params = search.parse_params(query)
    except ValidationError as error:
        errors = {**error.message_dict, **errors}
        params = None
    if errors:
        q = (request.GET.get("q") or "").strip()[:200]
        context = {
            "errors": [
                (FIELD_LABELS.get(key, key), message)
                for key, value in errors.items()
                for message in (value if isinstance(value, list) else [value])
            ],
            "q": q,
            "reset_url": _Links(request.path, [("q", q)] if q else []).url(),
        }
        return render(request, "library/search.html", context, status=400)

    found = search.run(user=user, params=params)
    pairs = _search_pairs(params)
    links = _Links(request.path, pairs)
    counts = found.facets()
    surgeon_names = {row["id"]: row["name"] for row in counts["surgeons"]}
    if set(params.surgeons) - set(surgeon_names):
        surgeon_names.update(Surgeon.objects.filter(pk__in=params.surgeons).values_list("pk", "name"))
    step_names = {row["id"]: row["name"] for row in counts["steps"]}
    if set(params.steps) - set(step_names):
        step_names.update(teaching_search.step_names(params.steps))
    may_filter_status = rights.sees_other_states(user)
    form_fields = _FORM_FIELDS | ({"status"} if may_filter_status else set())
    context = {
        "params": params,
        "q": params.q,
        "terms": found.terms,
        "showing_for": found.showing_for,
        "facets": _facets(params, counts, links),
        "chips": _chips(params, links, surgeon_names, step_names),
        "clear_url": links.url([pair for pair in pairs if pair[0] in ("q", "ordering")]),
        "sort_options": _sort_options(search.ORDERINGS),
        "ordering": params.ordering,
        "sort_hidden": [pair for pair in pairs if pair[0] != "ordering"],
        "search_hidden": [pair for pair in pairs if pair[0] != "q"],
        "filter_hidden": [pair for pair in pairs if pair[0] not in form_fields],
        "may_filter_status": may_filter_status,
        "statuses": Video.Status.choices,
        "form": {
            "minutes_min": _number(round(params.duration_min / 60, 2)) if params.duration_min is not None else "",
            "minutes_max": _number(round(params.duration_max / 60, 2)) if params.duration_max is not None else "",
        },
        **_paginate(request, found.page(request.GET.get("page"), per_page=PER_PAGE), links),
    }
    # Each result's moments: "at 12:34 — …" links to where the words are said or the step starts.
    moments = found.moments(context["page_obj"].object_list)
    for video in context["page_obj"].object_list:
        video.moments = moments.get(video.pk, [])
    return render(request, "library/search.html", context)


# ------------------------------------------------------------------ category, tag, surgeon


def _ordering(request, default: str = "-created") -> str:
    """The sort asked for, or ``default`` when it is missing or not one the pages offer."""
    ordering = request.GET.get("ordering") or default
    return ordering if ordering in search.ORDERINGS and ordering != "relevance" else default


def _listing(request, videos, *, pairs=()) -> dict:
    """Sort and paginate ``videos`` (visible ones, already filtered) for a category, tag or surgeon page."""
    ordering = _ordering(request)
    pairs = list(pairs) + ([("ordering", ordering)] if ordering != "-created" else [])
    links = _Links(request.path, pairs)
    videos = videos.with_catalogue().with_viewer_state(request.user).order_by(*search.ORDERINGS[ordering])
    return {
        "ordering": ordering,
        "sort_options": _sort_options(key for key in search.ORDERINGS if key != "relevance"),
        "sort_hidden": [pair for pair in pairs if pair[0] != "ordering"],
        **_paginate(request, Paginator(videos, PER_PAGE).get_page(request.GET.get("page")), links),
    }


@login_required
def category_page(request, slug):
    category = get_object_or_404(Category, slug=slug)
    videos = Video.objects.visible_to(request.user).filter(category=category)
    context = {"category": category, **_listing(request, videos)}
    return render(request, "library/category.html", context)


@login_required
def tag_page(request, slug):
    tag = get_object_or_404(Tag, slug=slug)
    videos = Video.objects.visible_to(request.user).filter(tags=tag)
    return render(request, "library/tag.html", {"tag": tag, **_listing(request, videos)})


@login_required
def surgeon_page(request, pk):
    """A surgeon's profile (the linked account stays private) and their videos, by role."""
    surgeon = get_object_or_404(Surgeon, pk=pk)
    visible = Video.objects.visible_to(request.user)
    role_counts = dict(
        VideoSurgeon.objects.filter(surgeon=surgeon, video__in=visible.values("pk"))
        .order_by()
        .values("role")
        .annotate(count=Count("pk"))
        .values_list("role", "count")
    )
    role = request.GET.get("role") or ""
    if role not in VideoSurgeon.Role.values:
        role = ""
    roles_here = VideoSurgeon.objects.filter(surgeon=surgeon, video=OuterRef("pk"))
    videos = visible.filter(Exists(roles_here.filter(role=role) if role else roles_here)).annotate(
        surgeon_role=Subquery(roles_here.values("role")[:1])
    )
    listing = _listing(request, videos, pairs=[("role", role)] if role else [])
    role_labels = dict(VideoSurgeon.Role.choices)
    for video in listing["page_obj"].object_list:
        video.surgeon_role_label = role_labels.get(video.surgeon_role, "")
    keep = [("ordering", listing["ordering"])] if listing["ordering"] != "-created" else []
    role_links = _Links(request.path, keep)
    context = {
        "surgeon": surgeon,
        "role": role,
        "total": sum(role_counts.values()),
        "all_roles_url": role_links.url(),
        "roles": [
            {"value": value, "label": label, "count": role_counts[value], "url": role_links.adding("role", value)}
            for value, label in VideoSurgeon.Role.choices
            if role_counts.get(value)
        ],
        **listing,
    }
    return render(request, "library/surgeon.html", context)


# ------------------------------------------------------------------------------ indexes


def _visible_count(user, path: str) -> Count:
    """Count of related videos that ``user`` may see (``path`` is the relation to Video)."""
    return Count(path, filter=Q(**{f"{path}__in": Video.objects.visible_to(user).values("pk")}), distinct=True)


class CategoryListView(LoginRequiredMixin, ListView):
    """Categories with at least one video the user may see, and how many."""

    template_name = "library/categories.html"
    context_object_name = "categories"

    def get_queryset(self):
        return (
            Category.objects.annotate(count=_visible_count(self.request.user, "videos"))
            .filter(count__gt=0)
            .order_by("name")
        )


class TagListView(LoginRequiredMixin, ListView):
    """Tags with at least one video the user may see, sized by how many (a tag cloud)."""

    template_name = "library/tags.html"
    context_object_name = "tags"

    def get_queryset(self):
        return (
            Tag.objects.annotate(count=_visible_count(self.request.user, "videos")).filter(count__gt=0).order_by("name")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tags = list(context["tags"])
        most = max((tag.count for tag in tags), default=1)
        for tag in tags:
            # Four sizes on a log scale, so one very common tag does not shrink all others.
            tag.weight = 1 + round(3 * math.log(tag.count) / math.log(most)) if most > 1 else 1
        context["tags"] = tags
        return context


class SurgeonListView(LoginRequiredMixin, ListView):
    """Surgeons with at least one video the user may see, and how many."""

    template_name = "library/surgeons.html"
    context_object_name = "surgeons"

    def get_queryset(self):
        return (
            Surgeon.objects.annotate(count=_visible_count(self.request.user, "video_roles__video"))
            .filter(count__gt=0)
            .order_by("name")
        )
