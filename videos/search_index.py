"""
What the library search reads from a video, kept in step with the catalogue.

``Video.search_terms`` holds the names of the video's tags, surgeons and category (the
``B`` weight of the search), so matching never joins three tables. It is refreshed here
whenever one of those changes (``videos.signals``) and can be
rebuilt with ``manage.py rebuild_search_index``.

On PostgreSQL, ``Video.search_vector`` is a stored generated ``tsvector`` — title (A),
search_terms (B), description (C), transcript (D) — with a GIN index, and ``pg_trgm``
indexes on title and search_terms give typo tolerance (migration 0003). On SQLite the
column is an always-NULL placeholder and ``library.search`` uses its fallback.
"""

from django.contrib.postgres.search import SearchVectorField
from django.db.models import Expression

from core.sqlite_fts import SqliteFts5Index

SEARCH_CONFIG = "english"


class DocumentColumn(Expression):
    """
    The ``search_vector`` column of the video table in the query being compiled (PostgreSQL
    only). Not a model field: Django never selects or writes it, and the column is generated
    by the database. The alias comes from the compiler, so it stays right in subqueries.
    """

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return f"{compiler.quote_name_unless_alias(alias)}.{connection.ops.quote_name('search_vector')}", []


def terms_for(videos) -> dict[int, str]:
    """``{video id: "tag names · surgeon names · category name"}`` for ``videos`` (three queries)."""
    from .models import Video, VideoSurgeon

    ids = [video.pk for video in videos]
    words: dict[int, list[str]] = {pk: [] for pk in ids}
    for video_id, name in Video.tags.through.objects.filter(video_id__in=ids).values_list("video_id", "tag__name"):
        words[video_id].append(name)
    for video_id, name in VideoSurgeon.objects.filter(video_id__in=ids).values_list("video_id", "surgeon__name"):
        words[video_id].append(name)
    for video_id, name in Video.objects.filter(pk__in=ids, category__isnull=False).values_list("pk", "category__name"):
        words[video_id].append(name)
    return {pk: " · ".join(names) for pk, names in words.items()}


def refresh(video_ids) -> int:
    """Recompute ``search_terms`` for these videos; returns how many changed."""
    from .models import Video

    video_ids = list(video_ids)
    changed = 0
    for start in range(0, len(video_ids), 500):
        batch = list(Video.objects.filter(pk__in=video_ids[start : start + 500]).only("pk", "search_terms"))
        terms = terms_for(batch)
        stale = [video for video in batch if video.search_terms != terms[video.pk]]
        for video in stale:
            video.search_terms = terms[video.pk]
        Video.objects.bulk_update(stale, ["search_terms"])
        changed += len(stale)
    return changed


# ------------------------------------------------------------------------------ SQLite FTS5
# On SQLite the same four fields live in an FTS5 index with the trigram tokenizer (substring
# matching, like the LIKE fallback, but from an index), kept by triggers and checked after every
# migrate (``VideosConfig.ready``): core.sqlite_fts. The cache attribute is the one tests reset.
VIDEO_FTS = SqliteFts5Index(
    name="video_fts",
    table="videos_video",
    columns=("title", "search_terms", "description", "transcript"),
    cache_attribute="_svl_fts_ready",
)
FTS_TABLE = VIDEO_FTS.name
sqlite_fts_ready = VIDEO_FTS.ready
ensure_sqlite_fts = VIDEO_FTS.ensure
on_post_migrate = VIDEO_FTS.on_post_migrate
