"""
Searching the catalogue: one place for the text match, the filters, the ordering and the
facet counts. The search page and the API call ``run(user=, params=)`` (after
``parse_params``) and show what its ``Results`` give: pages of videos, facets, terms.

The query is split into units — a word, a "quoted phrase", or a phrase from the synonym
table that editors keep in admin — and each unit may match any of its synonyms. Every unit
must match somewhere; stop words are ignored.

- PostgreSQL: the weighted full-text vector of videos.search_index (title A, tags/surgeons/
  category B, description C, transcript D; GIN index, English stemming, prefix matching),
  plus pg_trgm word similarity on title and tag/surgeon/category names, so a typo still
  finds "cholecystectomy". Ranked by ts_rank (weighted), plus title similarity when a typo matched.
- SQLite: the same four fields in an FTS5 index with the trigram tokenizer (substring
  matching; videos.search_index keeps it), ranked by where the words were found with the same
  weights; words under three letters, or an SQLite without FTS5, use case-insensitive
  containment. Typos: a word the catalogue does not know is also searched as its closest
  catalogue word (library.vocabulary, RapidFuzz), and ``Results.showing_for`` says so.

Both run in CI (tests/library/test_search_api.py).
"""

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import BooleanField, Case, Count, Exists, Func, IntegerField, OuterRef, Q, Sum, Value, When
from django.db.models.expressions import RawSQL
from django.utils.functional import cached_property

from teaching import search as teaching_search
from videos.models import Surgeon, Tag, Video, VideoSurgeon, visible_q
from videos.rights import may_watch
from videos.search_index import SEARCH_CONFIG, DocumentColumn, sqlite_fts_ready

from . import vocabulary
from .models import SearchSynonym

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
    steps: list[int] = field(default_factory=list)  # step ids (teaching): videos with such a chapter
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
    for key in query:
        if any("\x00" in value for value in query.getlist(key)):
            errors[key] = "Remove the NUL character."
    params = SearchParams(q=(query.get("q") or "").strip()[:200])
    params.tags = _names(query, "tags")
    params.categories = _names(query, "category")
    params.tags_all = (query.get("tags_mode") or "any") == "all"
    if query.get("tags_mode") not in (None, "", "any", "all"):
        errors["tags_mode"] = "Use any or all."
    for raw in _names(query, "surgeons"):
        if not re.fullmatch(r"[0-9]{1,18}", raw):
            errors["surgeons"] = "Give surgeon ids (numbers)."
            break
        params.surgeons.append(int(raw))
    for raw in _names(query, "steps"):
        if not re.fullmatch(r"[0-9]{1,18}", raw):
            errors["steps"] = "Give step ids (numbers)."
            break
        params.steps.append(int(raw))
    for key in ("duration_min", "duration_max"):
        raw = query.get(key)
        if raw not in (None, ""):
            try:
                value = float(raw)
                if not math.isfinite(value) or value < 0:
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


STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "without",
    ]
)
MAX_UNITS = 8
FACET_ID_LIMIT = 5000
MATCH_ID_LIMIT = 5000
FACET_CACHE_SECONDS = 60
SYNONYMS_CACHE_KEY = "library:search:synonyms:v1"
_TOKENS = re.compile(r'"([^"]*)"|(\w+)')


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def synonym_groups() -> dict[str, tuple[str, ...]]:
    """``{phrase: (phrase, synonyms…)}`` for every term and synonym, from the shared cache."""
    groups = cache.get(SYNONYMS_CACHE_KEY)
    if groups is None:
        groups = {}
        for synonym in SearchSynonym.objects.all():
            members = tuple(" ".join(_words(member)) for member in synonym.group())
            members = tuple(dict.fromkeys(m for m in members if m))
            for member in members:
                groups[member] = tuple(dict.fromkeys(groups.get(member, ()) + members))
        cache.set(SYNONYMS_CACHE_KEY, groups, 300)
    return groups


def forget_synonyms() -> None:
    cache.delete(SYNONYMS_CACHE_KEY)


def _typed_first(phrase: str, group: tuple[str, ...]) -> tuple[str, ...]:
    return (phrase, *(member for member in group if member != phrase))


def query_units(q: str) -> list[tuple[str, ...]]:
    """
    The units of a query, each a tuple of alternatives (words or phrases, lower case):
    ``'phaco "capsule tear" in kids'`` → ``[(phaco, cataract, lens, …), ("capsule tear",),
    (kids, children, pediatric, …)]``. Synonym phrases of up to three words are found greedily.
    """
    if not q.strip():
        return []
    groups = synonym_groups()
    units: list[tuple[str, ...]] = []
    words: list[str] = []

    def flush():
        i = 0
        while i < len(words):
            for size in (3, 2, 1):
                phrase = " ".join(words[i : i + size])
                if len(words) - i >= size and phrase in groups:
                    units.append(_typed_first(phrase, groups[phrase]))
                    i += size
                    break
            else:
                if words[i] not in STOP_WORDS:
                    units.append((words[i],))
                i += 1
        words.clear()

    for quoted, word in _TOKENS.findall(q):
        if word:
            words.extend(_words(word))
            continue
        flush()
        phrase = " ".join(_words(quoted))
        if phrase:
            units.append(_typed_first(phrase, groups.get(phrase, ())))
    flush()
    return [unit for unit in dict.fromkeys(units)][:MAX_UNITS]


def highlight_terms(units: list[tuple[str, ...]]) -> list[str]:
    """What to mark in the results of ``units`` (``query_units``): every alternative of every unit, longest first."""
    terms = {alternative for unit in units for alternative in unit}
    return sorted(terms, key=lambda term: (-len(term), term))


# SQLite (and any other database): containment in the four fields, weighted like PostgreSQL.
_FIELD_WEIGHTS = [("title", 8), ("search_terms", 4), ("description", 2), ("transcript", 1)]


def _fallback_alternatives(alternative: str) -> list[str]:
    # A little stemming so "cataracts" finds "cataract" without full-text search.
    if " " not in alternative and len(alternative) > 4 and alternative.endswith("s"):
        return [alternative[:-1]]
    return [alternative]


def _fts_phrase(alternative: str) -> str:
    return '"' + alternative.replace('"', '""') + '"'


def _fallback(videos, units):
    use_fts = connection.vendor == "sqlite" and sqlite_fts_ready(connection)
    rank = Value(0, output_field=IntegerField())
    for unit in units:
        alternatives = [form for alternative in unit for form in _fallback_alternatives(alternative)]
        in_any_field = Q()
        for name, weight in _FIELD_WEIGHTS:
            in_field = Q()
            for alternative in alternatives:
                in_field |= Q(**{f"{name}__icontains": alternative})
            in_any_field |= in_field
            # Scored on the matched rows only (ORDER BY), so this costs little.
            rank = rank + Case(When(in_field, then=Value(weight)), default=Value(0), output_field=IntegerField())
        # Or said in the captions (teaching: cue text).
        captioned = teaching_search.cue_match_q(alternatives=alternatives)
        if use_fts and all(len(alternative) >= 3 for alternative in alternatives):
            # The trigram FTS5 index finds the same substrings without reading every row.
            expression = " OR ".join(_fts_phrase(alternative) for alternative in alternatives)
            matching = RawSQL("SELECT rowid FROM video_fts WHERE video_fts MATCH %s", [expression])  # noqa: S611 (bound)
            videos = videos.filter(Q(pk__in=matching) | captioned)
        else:  # words under three letters are below the trigram index
            videos = videos.filter(in_any_field | captioned)
    return videos, rank


# PostgreSQL: full text on the generated vector, pg_trgm for typos.
class _Matches(Func):
    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()


def _tsquery(alternative: str) -> str:
    """A raw tsquery for one alternative: words in sequence, the last one as a prefix."""
    words = _words(alternative)
    return "(" + " <-> ".join(words[:-1] + [words[-1] + ":*"]) + ")"


def _indexed_match_exists(condition) -> bool:
    """
    Whether any video meets the full-text ``condition``, through the GIN index. ``exists()``
    (``LIMIT 1``) makes PostgreSQL expect an early hit and scan the table instead, which for a
    word found nowhere (the typo case) means reading every row; a materialised CTE is planned
    for all its rows, so it takes the index.
    """
    sql, params = Video.objects.filter(condition).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        # sql is Django-compiled with its values bound in params.
        cursor.execute(f"WITH found AS MATERIALIZED ({sql}) SELECT 1 FROM found LIMIT 1", params)  # noqa: S608
        return cursor.fetchone() is not None


def _postgres(videos, units):
    document = DocumentColumn()
    every, typed = [], False
    for unit in units:
        text = " | ".join(_tsquery(alternative) for alternative in unit)
        every.append(text)
        full_text = Q(_Matches(document, SearchQuery(text, search_type="raw", config=SEARCH_CONFIG)))
        # Typo tolerance only for a unit the full-text index knows nowhere (one index probe):
        # trigram similarity on every candidate row costs far more than the full-text match.
        # A unit with synonyms was found in the editors' table: it is spelled right.
        typos = [a for a in unit if " " not in a and len(a) >= 4] if len(unit) == 1 else []
        if typos and not _indexed_match_exists(full_text):
            typed = True
            for alternative in typos:
                full_text |= Q(title__trigram_word_similar=alternative)
                full_text |= Q(search_terms__trigram_word_similar=alternative)
        # Or said in the captions (teaching: an array of the ids whose caption text matches,
        # which the planner ORs with the document's index; see teaching migration 0006).
        videos = videos.filter(full_text | teaching_search.cue_match_q(alternatives=unit, tsquery=text))
    query = SearchQuery(" | ".join(every), search_type="raw", config=SEARCH_CONFIG)
    rank = SearchRank(document, query, weights=[0.1, 0.2, 0.4, 1.0])
    if typed:  # words found by similarity only: rank titles that look like what was typed first
        rank = rank + TrigramWordSimilarity(Value(" ".join(unit[0] for unit in units)), "title") * 0.5
    return videos, rank


def _matching(*, user, params: SearchParams, units):
    """The videos ``user`` may see that match ``params`` (its query split into ``units``), ordered as asked."""
    videos = Video.objects.visible_to(user)
    if params.status:
        videos = videos.filter(status=params.status)
    rank = None
    if units:
        match = _postgres if connection.vendor == "postgresql" else _fallback
        videos, rank = match(videos, units)
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
    if params.steps:
        videos = videos.filter(teaching_search.steps_q(params.steps))
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


class Matches:
    """
    The results of a text search read once, in order, as ids: what a Paginator needs
    (``count()`` and slices), where a slice fetches only that page's rows from ``rows``.
    The text match then runs once per request instead of once each for the count, the page
    and the facets.
    """

    def __init__(self, ids: list[int], rows):
        self.ids = ids
        self.rows = rows

    def decorate(self, decorate) -> "Matches":
        return Matches(self.ids, decorate(self.rows))

    def count(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, key):
        if not isinstance(key, slice):
            return self[key : key + 1 if key != -1 else None][0]
        wanted = self.ids[key]
        found = {video.pk: video for video in self.rows.filter(pk__in=wanted)}
        return [found[pk] for pk in wanted if pk in found]


def _read_matches(videos, *, user, units):
    """
    What to paginate and count facets over: for a text query with up to MATCH_ID_LIMIT
    results, ``videos`` read once as ordered ids (a Matches); otherwise ``videos`` itself.
    """
    if not units:
        return videos
    ids = list(videos.values_list("pk", flat=True)[: MATCH_ID_LIMIT + 1])
    if len(ids) > MATCH_ID_LIMIT:
        return videos
    return Matches(ids, Video.objects.visible_to(user))


class Results:
    """
    One search by ``user``, as both doors show it. The query is split into units once; a text
    match is read once (``Matches``) for the count, every page and the facets. A Paginator
    takes the results as they are: ``count()`` and slices give videos ready to show (catalogue
    and viewer state). ``mine`` keeps the user's own uploads (the API's filter).
    """

    def __init__(self, *, user, params: SearchParams, mine: bool = False):
        self.user = user
        self.params = params
        self.mine = mine
        self.units = query_units(params.q)
        # Elsewhere than PostgreSQL (pg_trgm), a word the catalogue does not know is searched as
        # the closest catalogue word too (library.vocabulary): "Showing results for …".
        self.corrected = {} if connection.vendor == "postgresql" else vocabulary.corrections(self.units)
        self.units = vocabulary.expand(self.units, self.corrected)
        self.showing_for = vocabulary.as_searched(params.q, self.corrected)
        self.terms = highlight_terms(self.units)

    @cached_property
    def _found(self):
        videos = _matching(user=self.user, params=self.params, units=self.units)
        if self.mine:
            videos = videos.filter(uploader=self.user)
        return _read_matches(videos, user=self.user, units=self.units)

    @cached_property
    def _rows(self):
        def show(videos):
            return videos.with_catalogue().with_viewer_state(self.user)

        return self._found.decorate(show) if isinstance(self._found, Matches) else show(self._found)

    def count(self) -> int:
        return self._rows.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key):
        return self._rows[key]

    def __iter__(self):
        return iter(self._rows[:])

    def page(self, number, *, per_page: int) -> Page:
        """Page ``number``; one that is not a number gives page 1, one past the end the last (``Paginator.get_page``)."""
        return Paginator(self, per_page).get_page(number)

    def moments(self, videos) -> dict[int, list[dict]]:
        """
        Where to start each of ``videos`` (a page of results): the chapters of the chosen steps,
        then the caption cues that say the query (teaching), ``{video id: [{"at", "text"}]}``.
        """
        ids = [video.pk for video in videos]
        found = teaching_search.chapter_matches(ids, self.params.steps)
        if self.units:
            alternatives = [form for unit in self.units for a in unit for form in _fallback_alternatives(a)]
            tsquery = " | ".join(_tsquery(alternative) for unit in self.units for alternative in unit)
            cues = teaching_search.caption_matches(ids, alternatives=alternatives, tsquery=tsquery)
            for pk, rows in cues.items():
                found.setdefault(pk, []).extend(rows)
        return found

    def facets(self) -> dict:
        """Counts per category, tag, surgeon and duration bucket over everything found (see ``_facets``)."""
        # Shared counts are keyed by the search parameters; ``mine`` is not one of them.
        return _facets(self._found, user=self.user, params=None if self.mine else self.params)


def run(*, user, params: SearchParams, mine: bool = False) -> Results:
    """Search the videos ``user`` may see with ``params`` (from ``parse_params``); no video is read until asked."""
    return Results(user=user, params=params, mine=mine)


def _id_set(ids: list[int]):
    """
    ``ids`` as one bound parameter for ``pk__in``: thousands of ``IN (%s, %s, …)``
    placeholders cost more to build and parse than the counts themselves.
    """
    if connection.vendor == "postgresql":
        # An array literal as text: psycopg's list dumper costs more than the query.
        return RawSQL("SELECT unnest(%s::bigint[])", ["{" + ",".join(map(str, ids)) + "}"])  # noqa: S611 (bound)
    if connection.vendor == "sqlite":
        return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])  # noqa: S611 (bound)
    return ids


def _audience(user) -> str:
    """
    Who sees the same videos as ``user``: everyone with an all-seeing role, or every viewer
    whose own uploads are all published, shares facet counts; anyone else has their own.
    """
    if not may_watch(user):
        return "nobody"
    if not visible_q(user):
        return "all"
    unpublished = Video.objects.filter(uploader=user).exclude(status=Video.Status.PUBLISHED)
    return f"user{user.pk}" if unpublished.exists() else "published"


def _facet_cache_key(user, params: SearchParams) -> str:
    filters = {key: value for key, value in asdict(params).items() if key != "ordering"}
    digest = hashlib.sha256(json.dumps(filters, default=str, sort_keys=True).encode()).hexdigest()[:32]
    return f"library:facets:v1:{_audience(user)}:{digest}"


def _facets(videos, *, user=None, params: SearchParams | None = None) -> dict:
    """
    Counts per category, tag, surgeon and duration bucket for ``videos`` (a QuerySet or
    Matches; four or five queries). A matched set of up to FACET_ID_LIMIT videos is read once
    as ids, so the four counts do not run the text match again. Larger sets (a plain listing)
    are counted by subquery, and with ``user`` and ``params`` the counts are shared for
    FACET_CACHE_SECONDS by everyone who sees the same videos (they may lag that long behind).
    """
    key = None
    if isinstance(videos, Matches):
        ids = _id_set(videos.ids)
    else:
        ids = videos.order_by().values("pk")
        found = list(ids.values_list("pk", flat=True)[: FACET_ID_LIMIT + 1])
        if len(found) <= FACET_ID_LIMIT:
            ids = _id_set(found)
        elif user is not None and params is not None:
            key = _facet_cache_key(user, params)
            counted = cache.get(key)
            if counted is not None:
                return counted
    counted = _count_facets(ids)
    if key is not None:
        cache.set(key, counted, FACET_CACHE_SECONDS)
    return counted


def _count_facets(ids) -> dict:
    categories = (
        Video.objects.filter(pk__in=ids, category__isnull=False)
        .values("category__name", "category__slug")
        .annotate(count=Count("pk"))
        .order_by("-count", "category__name")[:30]
    )
    tags = (
        Tag.objects.filter(videos__in=ids)
        .annotate(count=Count("videos"))  # (video, tag) pairs are unique: no DISTINCT sort
        .order_by("-count", "name")[:30]
    )
    surgeons = (
        Surgeon.objects.filter(video_roles__video__in=ids)
        .annotate(count=Count("video_roles__video"))  # unique (video, surgeon) pairs
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
        "categories": [
            {"name": row["category__name"], "slug": row["category__slug"], "count": row["count"]} for row in categories
        ],
        "tags": [{"name": tag.name, "slug": tag.slug, "count": tag.count} for tag in tags],
        "surgeons": [{"id": s.pk, "name": s.name, "count": s.count} for s in surgeons],
        "steps": teaching_search.step_facet(ids),
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
