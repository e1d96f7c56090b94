"""Delete audit events and viewing sessions past the retention period (also run daily by the job queue)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.retention import BATCH_SIZE, LABELS, audit_prune


class Command(BaseCommand):
    help = (
        "Delete audit events and viewing sessions older than AUDIT_RETENTION_DAYS (or --days), "
        "in batches, and record one 'audit_prune' audit event with the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            help=f"Keep this many days instead of AUDIT_RETENTION_DAYS ({settings.AUDIT_RETENTION_DAYS}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="Rows per DELETE statement.")

    def handle(self, *args, days=None, dry_run=False, batch_size=BATCH_SIZE, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if days is None and not settings.AUDIT_RETENTION_DAYS:
            self.stdout.write("AUDIT_RETENTION_DAYS is 0: audit entries are kept for ever; nothing to do.")
            return
        result = audit_prune(days=days, dry_run=dry_run, batch_size=batch_size)
        verb = "Would delete" if dry_run else "Deleted"
        counts = " and ".join(f"{result[name]} {label}" for name, label in LABELS.items())
        self.stdout.write(f"{verb} {counts} older than {result['days']} days (before {result['cutoff']}).")
