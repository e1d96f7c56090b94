"""
Retention of the audit trail: audit events, and the records other apps keep for the audit
(viewing sessions, registered by library), are kept for ``AUDIT_RETENTION_DAYS`` and then
deleted, in batches, by ``prune_audit`` (also scheduled daily). Nothing else deletes them:
the admin screens are read-only.

Each app prunes its own records: an app above this one registers what it keeps for the audit
(``register``, in its ``AppConfig.ready``), so this app imports none of them.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from . import trail
from .models import AuditEvent

# Rows per DELETE: short transactions, so the web and the worker are never held up for long.
BATCH_SIZE = 2000

# name -> the rows older than a cutoff (name is the key of the counts ``audit_prune`` returns).
_KEPT_FOR_AUDIT: dict[str, Callable[[datetime], QuerySet]] = {
    "audit_events": lambda cutoff: AuditEvent.objects.filter(created_at__lt=cutoff),
}
# name -> what the command calls them ("2 audit event(s)").
LABELS = {"audit_events": "audit event(s)"}


def register(name: str, older_than: Callable[[datetime], QuerySet], *, label: str) -> None:
    """Have ``audit_prune`` delete ``older_than(cutoff)`` too, counted under ``name``."""
    _KEPT_FOR_AUDIT[name] = older_than
    LABELS[name] = label


def audit_prune(*, days: int | None = None, dry_run: bool = False, batch_size: int = BATCH_SIZE) -> dict:
    """
    Delete audit events and every registered kind of record older than ``days`` (default
    ``AUDIT_RETENTION_DAYS``; 0 there means keep for ever, and nothing happens) and record one
    ``audit_prune`` event with the counts. ``dry_run`` only counts. Returns the counts.
    """
    if days is None:
        days = settings.AUDIT_RETENTION_DAYS
        if not days:
            return {"days": 0, **{name: 0 for name in _KEPT_FOR_AUDIT}, "dry_run": dry_run}
    if days < 1:
        raise ValueError("days must be at least 1")
    cutoff = timezone.now() - timedelta(days=days)
    old = {name: older_than(cutoff) for name, older_than in _KEPT_FOR_AUDIT.items()}
    if dry_run:
        counts = {name: rows.count() for name, rows in old.items()}
    else:
        counts = {name: _delete_in_batches(rows, batch_size) for name, rows in old.items()}
    result = {"days": days, "cutoff": cutoff.isoformat(), **counts, "dry_run": dry_run}
    if not dry_run:
        trail.record(AuditEvent.Event.AUDIT_PRUNE, days=days, cutoff=cutoff.isoformat(), **counts)
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
