"""Queue speech-to-text draft captions for videos: those named, or every playable one never transcribed (from before it was set up)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from teaching import speech
from teaching.services import caption_draft_enqueue
from videos.models import Video


class Command(BaseCommand):
    help = (
        "Queue speech-to-text (on the transcode cluster) for the videos named, or with --untranscribed every "
        "processed or published video never transcribed. A draft replaces only the previous draft."
    )

    def add_arguments(self, parser):
        parser.add_argument("uuids", nargs="*", help="video ids")
        parser.add_argument(
            "--untranscribed", action="store_true", help="every processed or published video never transcribed"
        )

    def handle(self, *args, uuids, untranscribed, **options):
        if not speech.configured():
            raise CommandError("Speech-to-text is off: set CAPTIONS_STT_MODEL_DIR or CAPTIONS_TRANSCRIBER.")
        videos = Video.objects.none()
        if uuids:
            videos = Video.objects.filter(uuid__in=uuids)
        elif untranscribed:
            videos = Video.objects.filter(
                status__in=[Video.Status.PROCESSED, Video.Status.PUBLISHED], transcription__isnull=True
            )
        count = 0
        for video in videos.iterator():
            with transaction.atomic():
                caption_draft_enqueue(video=video)
            count += 1
        self.stdout.write(f"{count} transcription(s) queued")
