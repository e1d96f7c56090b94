"""Queue transcodes again: `reprocess_videos --failed`, `--all`, or a list of video ids (UUIDs)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from videos.models import Video
from videos.services.transcode import video_reprocess


class Command(BaseCommand):
    help = "Queue videos for transcoding again (the current ladder keeps serving until the new one is done)."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", help="video UUIDs")
        parser.add_argument("--failed", action="store_true", help="every failed video")
        parser.add_argument("--all", action="store_true", help="every video with an original file")

    def handle(self, *args, ids, failed, all, **options):
        if not (ids or failed or all):
            raise CommandError("Give video ids, --failed or --all.")
        videos = Video.objects.all()
        if ids:
            videos = videos.filter(uuid__in=ids)
        elif failed:
            videos = videos.filter(status=Video.Status.FAILED)
        queued = 0
        # Ids first: queueing a job may close the connection a server-side cursor would read from.
        for pk in list(videos.values_list("pk", flat=True)):
            video = Video.objects.get(pk=pk)
            try:
                with transaction.atomic():
                    # The operator at the server acts for no user: the audit names no one.
                    video_reprocess(user=None, video=video)
                queued += 1
            except Exception as error:  # noqa: BLE001 (report and carry on with the others)
                self.stderr.write(f"{video.uuid}: {error}")
        self.stdout.write(f"Queued {queued} video(s).")
