"""
Retention of the audit trail: audit events and viewing sessions are kept for
``AUDIT_RETENTION_DAYS`` and then deleted, in batches, by ``prune_audit`` (also scheduled
daily). Nothing else deletes them: the admin screens are read-only.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import audit
from .models import AuditEvent

# Rows per DELETE: short transactions, so the web and the worker are never held up for long.
BATCH_SIZE = 2000


def audit_prune(*, days: int | None = None, dry_run: bool = False, batch_size: int = BATCH_SIZE) -> dict:
    """
    Delete audit events and viewing sessions older than ``days`` (default
    ``AUDIT_RETENTION_DAYS``; 0 there means keep for ever, and nothing happens) and record one
    ``audit_prune`` event with the counts. ``dry_run`` only counts. Returns the counts.
    """
    from library.models import ViewEvent

    if days is None:
        days = settings.AUDIT_RETENTION_DAYS
        if not days:
            return {"days": 0, "audit_events": 0, "view_events": 0, "dry_run": dry_run}
    if days < 1:
        raise ValueError("days must be at least 1")
    cutoff = timezone.now() - timedelta(days=days)
    old_audit = AuditEvent.objects.filter(created_at__lt=cutoff)
    old_views = ViewEvent.objects.filter(started_at__lt=cutoff)
    if dry_run:
        counts = {"audit_events": old_audit.count(), "view_events": old_views.count()}
    else:
        counts = {
            "audit_events": _delete_in_batches(old_audit, batch_size),
            "view_events": _delete_in_batches(old_views, batch_size),
        }
    result = {"days": days, "cutoff": cutoff.isoformat(), **counts, "dry_run": dry_run}
    if not dry_run:
        audit.record(AuditEvent.Event.AUDIT_PRUNE, days=days, cutoff=cutoff.isoformat(), **counts)
    return result


def _delete_in_batches(queryset, batch_size: int) -> int:
    """Delete ``queryset`` ``batch_size`` rows at a time (each batch commits on its own)."""
    model = queryset.model
    total = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        deleted, _ = model.objects.filter(pk__in=ids).delete()
        total += deleted
