"""
What the header's Browse menu counts (issue #15): the categories, tags and surgeons that have
published videos. The same for everyone who may watch, so it is cached for a few minutes:
an ordinary page reads it from the cache and costs no query.
"""

from django.core.cache import cache
from django.db.models import Count

from videos.models import Video

BROWSE_COUNTS_CACHE_KEY = "library:browse:counts:v1"
BROWSE_COUNTS_SECONDS = 300


def _count() -> dict[str, int]:
    """One query: each kind of catalogue entry that at least one published video names."""
    return Video.objects.published().aggregate(
        categories=Count("category", distinct=True),
        tags=Count("tags", distinct=True),
        surgeons=Count("video_surgeons__surgeon", distinct=True),
    )


def browse_counts() -> dict[str, int]:
    return cache.get_or_set(BROWSE_COUNTS_CACHE_KEY, _count, BROWSE_COUNTS_SECONDS)
