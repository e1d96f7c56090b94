"""
What library.search asks of the teaching layer: caption text (cue level) and steps.

- ``cue_match_q``: videos with a caption cue matching a unit of the query. PostgreSQL: the
  stored English text vector of each video's caption text (GIN index, migration 0005), the same
  stemming and prefix matching as the video document, asked through 0006's function as an
  array of ids that the planner ORs with the document's own index. SQLite: containment, through an FTS5
  trigram index of each video's caption text (``VideoCaptionText``: every cue of the video, one per line, kept by
  ``caption_text_refresh`` whenever a video's captions change; ``teaching_captiontext_fts``,
  kept by triggers, checked after every migrate as videos' ``video_fts`` is) — one row per
  captioned video rather than one per cue, so a common word costs as many rows as videos say
  it, not as many cues (issue #16's 100 000-video bench); words under three letters, or an
  SQLite without FTS5, scan the cues with LIKE.
- ``caption_matches``: for the videos of one results page, up to ``MATCHES_PER_VIDEO`` cues that
  matched, ``{"at", "text"}`` in timeline order (one query: on PostgreSQL each video's cues read
  in order until enough match, elsewhere a window function).
- ``steps_q``, ``chapter_matches``, ``step_facet``: the ``steps`` filter (videos with a chapter
  of one of these steps), the chapters to link to from each result, and the facet counts.
"""

from django.db import connection
from django.db.models import BooleanField, Count, Exists, F, Func, OuterRef, Q, Value, Window
from django.db.models.functions import RowNumber

from core.sqlite_fts import SqliteFts5Index
from videos.search_index import SEARCH_CONFIG  # the caption text is stemmed as the video document

from .models import CaptionCue, Chapter, Step, VideoCaptionText

MATCHES_PER_VIDEO = 3


def _contains(alternatives) -> Q:
    condition = Q()
    for alternative in alternatives:
        condition |= Q(text__icontains=alternative)
    return condition


def cue_match_q(*, alternatives, tsquery: str | None = None) -> Q:
    """A condition on videos: one of their caption cues matches (any of ``alternatives``; PostgreSQL: ``tsquery``)."""
    if connection.vendor == "postgresql" and tsquery:
        return Q(_Captioned(tsquery))
    if CAPTION_TEXT_FTS.usable_for(connection, alternatives):
        # Lines never join two cues: "\n" is in no query, so a phrase matches inside one cue.
        return Q(
            pk__in=VideoCaptionText.objects.filter(pk__in=CAPTION_TEXT_FTS.matching_rowids(alternatives)).values(
                "video_id"
            )
        )
    return Q(pk__in=CaptionCue.objects.filter(_contains(alternatives)).values("video_id"))


class _Captioned(Func):
    """
    PostgreSQL: ``id = ANY(ARRAY(SELECT teaching_captioned_videos(to_tsquery(config, query))))``,
    the videos whose caption text matches (migration 0006: through the GIN index of each video's
    caption text vector). An array, so that the planner can OR it with the videos' own full-text
    index (BitmapOr of the two) rather than test every candidate video's text.
    """

    output_field = BooleanField()

    def __init__(self, tsquery: str):
        super().__init__(F("pk"), Value(SEARCH_CONFIG), Value(tsquery))

    def as_sql(self, compiler, connection, **extra_context):
        sqls, params = [], []
        for expression in self.get_source_expressions():
            sql, expression_params = compiler.compile(expression)
            sqls.append(sql)
            params.extend(expression_params)
        pk, config, query = sqls
        return (
            f"({pk} = ANY(ARRAY(SELECT teaching_captioned_videos(to_tsquery({config}::regconfig, {query})))))",
            params,
        )


def caption_matches(video_ids, *, alternatives, tsquery: str | None = None) -> dict[int, list[dict]]:
    """
    ``{video id: [{"at", "text"}]}``: the first cues of each video that match, in timeline order.
    Each video's cues are read through their (video, start) index, in order, until enough match:
    an index of every cue's words would first list every matching cue of the whole library
    (tens of thousands for a common word) to keep a page's worth.
    """
    video_ids = list(video_ids)
    if not video_ids or not alternatives:
        return {}
    if connection.vendor == "postgresql" and tsquery:
        rows = _postgres_cue_matches(video_ids, tsquery)
    else:
        rows = (
            CaptionCue.objects.filter(_contains(alternatives), video_id__in=video_ids)
            .annotate(n=Window(RowNumber(), partition_by=[F("video_id")], order_by=[F("start").asc(), F("id").asc()]))
            .filter(n__lte=MATCHES_PER_VIDEO)
            .order_by("video_id", "start", "id")
            .values_list("video_id", "start", "text")
        )
    found: dict[int, list[dict]] = {}
    for video_id, start, text in rows:
        found.setdefault(video_id, []).append({"at": start, "text": text})
    return found


# Per video of the page whose caption text matches at all (0006's teaching_captioned_videos, by
# the index, so that a video found by its title is not read cue by cue for nothing), its first
# matching cues (0006's teaching_cue_matches: its cues in timeline order until enough match).
_POSTGRES_CUE_MATCHES = """
SELECT page.id, cue.at_seconds, cue.cue_text
FROM unnest(%(ids)s::bigint[]) AS page(id)
CROSS JOIN LATERAL teaching_cue_matches(
    page.id, %(config)s::regconfig, to_tsquery(%(config)s::regconfig, %(query)s), %(limit)s
) AS cue
WHERE page.id IN (SELECT teaching_captioned_videos(to_tsquery(%(config)s::regconfig, %(query)s)))
ORDER BY page.id, cue.at_seconds
"""


def _postgres_cue_matches(video_ids, tsquery):
    with connection.cursor() as cursor:
        cursor.execute(
            _POSTGRES_CUE_MATCHES,
            {"ids": video_ids, "config": SEARCH_CONFIG, "query": tsquery, "limit": MATCHES_PER_VIDEO},
        )
        return cursor.fetchall()


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
