"""
What library.search asks of the teaching layer: caption text (cue level) and steps.

- ``cue_match_q``: videos with a caption cue matching a unit of the query. PostgreSQL: the
  stored English text vector of each video's caption text (GIN index, migration 0005), the same
  stemming and prefix matching as the video document. SQLite: containment, through an FTS5
  trigram index of each video's caption text (``VideoCaptionText``: every cue of the video, one per line, kept by
  ``caption_text_refresh`` whenever a video's captions change; ``teaching_captiontext_fts``,
  kept by triggers, checked after every migrate as videos' ``video_fts`` is) — one row per
  captioned video rather than one per cue, so a common word costs as many rows as videos say
  it, not as many cues (issue #16's 100 000-video bench); words under three letters, or an
  SQLite without FTS5, scan the cues with LIKE.
- ``caption_matches``: for the videos of one results page, up to ``MATCHES_PER_VIDEO`` cues that
  matched, ``{"at", "text"}`` in timeline order (one query, a window function).
- ``steps_q``, ``chapter_matches``, ``step_facet``: the ``steps`` filter (videos with a chapter
  of one of these steps), the chapters to link to from each result, and the facet counts.
"""

from django.db import connection
from django.db.models import BooleanField, Count, Exists, F, Func, OuterRef, Q, Value, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber

from core.sqlite_fts import SqliteFts5Index

from .models import CaptionCue, Chapter, Step, VideoCaptionText

MATCHES_PER_VIDEO = 3
SEARCH_CONFIG = "english"  # as videos.search_index


class _CueMatches(Func):
    """``to_tsvector('english', text) @@ to_tsquery('english', query)``: the index's expression (migration 0002)."""

    template = f"(to_tsvector('{SEARCH_CONFIG}', %(expressions)s))"
    arg_joiner = f") @@ to_tsquery('{SEARCH_CONFIG}', "
    output_field = BooleanField()


def _cue_condition(*, alternatives, tsquery: str | None) -> Q:
    if connection.vendor == "postgresql" and tsquery:
        return Q(_CueMatches(F("text"), Value(tsquery)))
    condition = Q()
    for alternative in alternatives:
        condition |= Q(text__icontains=alternative)
    return condition


def cue_match_q(*, alternatives, tsquery: str | None = None) -> Q:
    """A condition on videos: one of their caption cues matches (any of ``alternatives``; PostgreSQL: ``tsquery``)."""
    if connection.vendor == "postgresql" and tsquery:
        return Q(pk__in=captioned_video_ids(tsquery))
    if CAPTION_TEXT_FTS.usable_for(connection, alternatives):
        # Lines never join two cues: "\n" is in no query, so a phrase matches inside one cue.
        return Q(
            pk__in=VideoCaptionText.objects.filter(pk__in=CAPTION_TEXT_FTS.matching_rowids(alternatives)).values(
                "video_id"
            )
        )
    return Q(
        pk__in=CaptionCue.objects.filter(_cue_condition(alternatives=alternatives, tsquery=tsquery)).values("video_id")
    )


def captioned_video_ids(tsquery: str):
    """
    PostgreSQL: the ids (``video_id`` values) of the videos whose caption text matches the raw
    ``tsquery``, through the stored English vector of each video's caption text (GIN index,
    migration 0005): one row per captioned video, not one per cue. A queryset, so that
    library.search can UNION it with the videos' own full-text match and keep both indexes.
    """
    matches = RawSQL("vector @@ to_tsquery(%s, %s)", [SEARCH_CONFIG, tsquery], output_field=BooleanField())  # noqa: S611 (bound)
    return VideoCaptionText.objects.filter(matches).values("video_id")


def caption_matches(video_ids, *, alternatives, tsquery: str | None = None) -> dict[int, list[dict]]:
    """
    ``{video id: [{"at", "text"}]}``: the first cues of each video that match, in timeline order.
    On SQLite the cues of the page's videos are read through their (video, start) index and
    compared as text: the FTS index would first list every matching cue of the whole library
    (tens of thousands for a common word) to keep a page's worth.
    """
    video_ids = list(video_ids)
    if not video_ids or not alternatives:
        return {}
    cues = (
        CaptionCue.objects.filter(_cue_condition(alternatives=alternatives, tsquery=tsquery), video_id__in=video_ids)
        .annotate(n=Window(RowNumber(), partition_by=[F("video_id")], order_by=[F("start").asc(), F("id").asc()]))
        .filter(n__lte=MATCHES_PER_VIDEO)
        .order_by("video_id", "start", "id")
        .values_list("video_id", "start", "text")
    )
    found: dict[int, list[dict]] = {}
    for video_id, start, text in cues:
        found.setdefault(video_id, []).append({"at": start, "text": text})
    return found


def steps_q(step_ids) -> Q:
    """Videos with a chapter tied to one of ``step_ids``."""
    return Q(Exists(Chapter.objects.filter(video=OuterRef("pk"), step_id__in=list(step_ids))))


def chapter_matches(video_ids, step_ids) -> dict[int, list[dict]]:
    """``{video id: [{"at", "text"}]}``: the chapters of these steps in each video (to link to them)."""
    video_ids, step_ids = list(video_ids), list(step_ids)
    if not video_ids or not step_ids:
        return {}
    found: dict[int, list[dict]] = {}
    chapters = Chapter.objects.filter(video_id__in=video_ids, step_id__in=step_ids).order_by("video_id", "start")
    for video_id, start, title in chapters.values_list("video_id", "start", "title"):
        found.setdefault(video_id, []).append({"at": start, "text": title})
    return found


def step_facet(ids, *, limit: int = 30) -> list[dict]:
    """Counts per step over the videos ``ids`` (a subquery or id list): how many have a chapter of it."""
    steps = (
        Step.objects.filter(chapters__video__in=ids)
        .annotate(count=Count("chapters__video", distinct=True))
        .order_by("-count", "category__name", "position", "name")
        .values("pk", "name", "colour", "category__name", "count")[:limit]
    )
    return [
        {
            "id": row["pk"],
            "name": row["name"],
            "category": row["category__name"],
            "colour": row["colour"],
            "count": row["count"],
        }
        for row in steps
    ]


def step_names(step_ids) -> dict[int, str]:
    return dict(Step.objects.filter(pk__in=list(step_ids)).values_list("pk", "name"))


# ------------------------------------------------------------------------------ SQLite FTS5
# As videos.search_index does for video_fts (core.sqlite_fts): kept by triggers, checked after
# every migrate (TeachingConfig.ready). It indexes each video's caption text; the cues' own index
# of before (teaching_cue_fts) is dropped by migration 0004.
CAPTION_TEXT_FTS = SqliteFts5Index(
    name="teaching_captiontext_fts", table="teaching_videocaptiontext", columns=("text",)
)
on_post_migrate = CAPTION_TEXT_FTS.on_post_migrate


def caption_text(video_id: int) -> str:
    """Every cue of the video, one per line, in the order of its tracks and their timeline."""
    cues = CaptionCue.objects.filter(video_id=video_id).order_by("caption_id", "start", "id")
    return "\n".join(text.replace("\n", " ") for text in cues.values_list("text", flat=True))


def caption_text_refresh(video_ids) -> None:
    """Make the videos' ``VideoCaptionText`` what their cues say now (none when they have no cue)."""
    for video_id in video_ids:
        text = caption_text(video_id)
        if text:
            VideoCaptionText.objects.update_or_create(video_id=video_id, defaults={"text": text})
        else:
            VideoCaptionText.objects.filter(video_id=video_id).delete()
