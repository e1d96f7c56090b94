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
# matching, like the LIKE fallback, but from an index). Django rebuilds a SQLite table when a
# migration alters it, which drops its triggers, so this is checked after every migrate
# (``VideosConfig.ready``) rather than created once by a migration.
FTS_TABLE = "video_fts"
_FTS_TRIGGERS = {
    "video_fts_insert": """
        CREATE TRIGGER IF NOT EXISTS video_fts_insert AFTER INSERT ON videos_video BEGIN
          INSERT INTO video_fts(rowid, title, search_terms, description, transcript)
          VALUES (new.id, new.title, new.search_terms, new.description, new.transcript);
        END""",
    "video_fts_delete": """
        CREATE TRIGGER IF NOT EXISTS video_fts_delete AFTER DELETE ON videos_video BEGIN
          INSERT INTO video_fts(video_fts, rowid, title, search_terms, description, transcript)
          VALUES ('delete', old.id, old.title, old.search_terms, old.description, old.transcript);
        END""",
    "video_fts_update": """
        CREATE TRIGGER IF NOT EXISTS video_fts_update
        AFTER UPDATE OF title, search_terms, description, transcript ON videos_video BEGIN
          INSERT INTO video_fts(video_fts, rowid, title, search_terms, description, transcript)
          VALUES ('delete', old.id, old.title, old.search_terms, old.description, old.transcript);
          INSERT INTO video_fts(rowid, title, search_terms, description, transcript)
          VALUES (new.id, new.title, new.search_terms, new.description, new.transcript);
        END""",
}


def sqlite_fts_ready(connection) -> bool:
    """Whether the FTS5 index and its triggers are in place (cached per connection)."""
    ready = getattr(connection, "_svl_fts_ready", None)
    if ready is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)",
                [FTS_TABLE, *_FTS_TRIGGERS],
            )
            ready = cursor.fetchone()[0] == 1 + len(_FTS_TRIGGERS)
        connection._svl_fts_ready = ready
    return ready


def ensure_sqlite_fts(connection) -> bool:
    """Create the FTS5 index and its triggers where missing, and refill it then. SQLite only."""
    if connection.vendor != "sqlite":
        return False
    connection._svl_fts_ready = None
    if sqlite_fts_ready(connection):
        return True
    with connection.cursor() as cursor:
        try:
            cursor.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS video_fts USING fts5(title, search_terms, description, transcript, "
                "content='videos_video', content_rowid='id', tokenize='trigram')"
            )
        except Exception:  # an SQLite built without FTS5 (or older than 3.34): LIKE fallback
            connection._svl_fts_ready = False
            return False
        for statement in _FTS_TRIGGERS.values():
            cursor.execute(statement)
        cursor.execute("INSERT INTO video_fts(video_fts) VALUES ('rebuild')")
    connection._svl_fts_ready = None
    return sqlite_fts_ready(connection)


def on_post_migrate(sender, using="default", **kwargs):
    from django.db import connections

    ensure_sqlite_fts(connections[using])
