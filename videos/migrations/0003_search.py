"""
Search support (videos.search_index, library.search).

On every database: ``search_terms``, filled here for existing videos.
On PostgreSQL only (the operations below do nothing elsewhere):
- the ``pg_trgm`` extension (trusted since PostgreSQL 13: the database owner may create it);
- ``search_vector``, a stored generated tsvector weighting title (A), search_terms (B),
  description (C) and transcript (D), with a GIN index;
- trigram GIN indexes on title and search_terms for typo-tolerant matching.
The generated column depends on those four columns: a later migration that changes their
type must drop and re-create it (PostgreSQL refuses otherwise).
"""

from django.db import migrations, models

CONFIG = "english"
VECTOR = " || ".join(
    f"setweight(to_tsvector('{CONFIG}'::regconfig, coalesce({column}, '')), '{weight}')"
    for column, weight in (("title", "A"), ("search_terms", "B"), ("description", "C"), ("transcript", "D"))
)
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"ALTER TABLE videos_video ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({VECTOR}) STORED",
    "CREATE INDEX video_search_vector_idx ON videos_video USING gin (search_vector)",
    "CREATE INDEX video_title_trgm_idx ON videos_video USING gin (title gin_trgm_ops)",
    "CREATE INDEX video_search_terms_trgm_idx ON videos_video USING gin (search_terms gin_trgm_ops)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS video_search_terms_trgm_idx",
    "DROP INDEX IF EXISTS video_title_trgm_idx",
    "ALTER TABLE videos_video DROP COLUMN IF EXISTS search_vector",
]


def postgres_forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_FORWARD:
            schema_editor.execute(statement)


def postgres_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_BACKWARD:
            schema_editor.execute(statement)


def fill_terms(apps, schema_editor):
    Video = apps.get_model("videos", "Video")
    VideoSurgeon = apps.get_model("videos", "VideoSurgeon")
    for video in Video.objects.select_related("category").iterator():
        names = list(video.tags.values_list("name", flat=True))
        names += VideoSurgeon.objects.filter(video=video).values_list("surgeon__name", flat=True)
        if video.category_id:
            names.append(video.category.name)
        Video.objects.filter(pk=video.pk).update(search_terms=" · ".join(names))


class Migration(migrations.Migration):
    dependencies = [("videos", "0002_schedules")]

    operations = [
        migrations.AddField(
            model_name="video",
            name="search_terms",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="Tag, surgeon and category names, for search (videos.search_index).",
            ),
        ),
        migrations.RunPython(fill_terms, migrations.RunPython.noop),
        migrations.RunPython(postgres_forward, postgres_backward),
    ]
