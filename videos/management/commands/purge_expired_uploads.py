"""Delete abandoned resumable uploads (also scheduled hourly in the job queue)."""

from django.core.management.base import BaseCommand

from videos.services.uploads import uploads_purge_expired


class Command(BaseCommand):
    help = "Delete unfinished uploads past their expiry and any orphaned partial files."

    def handle(self, *args, **options):
        count = uploads_purge_expired()
        self.stdout.write(f"Removed {count} expired upload(s).")
