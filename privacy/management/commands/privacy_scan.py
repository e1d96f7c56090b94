"""Queue the privacy scan for videos: those named, or every playable one never scanned (videos from before the scan)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from privacy.services import scan_enqueue
from videos.models import Video


class Command(BaseCommand):
    help = "Queue the privacy scan (on the transcode cluster) for the videos named, or with --unscanned every one never scanned."

    def add_arguments(self, parser):
        parser.add_argument("uuids", nargs="*", help="video ids")
        parser.add_argument("--unscanned", action="store_true", help="every processed or published video with no scan")

    def handle(self, *args, uuids, unscanned, **options):
        videos = Video.objects.none()
        if uuids:
            videos = Video.objects.filter(uuid__in=uuids)
        elif unscanned:
            videos = Video.objects.filter(
                status__in=[Video.Status.PROCESSED, Video.Status.PUBLISHED], privacy_scan__isnull=True
            )
        count = 0
        for video in videos.iterator():
            with transaction.atomic():
                scan_enqueue(video=video)
            count += 1
        self.stdout.write(f"{count} scan(s) queued")
