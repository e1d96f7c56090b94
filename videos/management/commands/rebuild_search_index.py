"""Recompute every video's search terms (after a bulk import that bypassed signals, for example)."""

from django.core.management.base import BaseCommand

from videos import search_index
from videos.models import Video


class Command(BaseCommand):
    help = "Recompute Video.search_terms (tag, surgeon and category names) for every video."

    def handle(self, *args, **options):
        ids = list(Video.objects.order_by("pk").values_list("pk", flat=True))
        changed = search_index.refresh(ids)
        self.stdout.write(f"{len(ids)} videos checked, {changed} updated.")
