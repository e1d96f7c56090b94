"""prune_audit: audit events and viewing sessions past the retention period go, in batches, audited."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from accounts import roles
from audit.models import AuditEvent
from library.models import ViewEvent
from tests.factories import AuditEventFactory, VideoFactory, ViewEventFactory

pytestmark = pytest.mark.django_db
Event = AuditEvent.Event


@pytest.fixture
def trail(make_user):
    """Audit events and viewing sessions aged 1, 20, 800 and 900 days."""
    viewer = make_user(roles.VIEWER, username="pruned")
    video = VideoFactory(title="Old case", uploader=viewer, status="published")
    now = timezone.now()
    for age in (1, 20, 800, 900):
        when = now - timedelta(days=age)
        AuditEventFactory(event=Event.LOGIN_SUCCESS, actor=viewer, created_at=when, detail={"age": age})
        ViewEventFactory(user=viewer, video=video, started_at=when, last_seen_at=when, seconds_watched=5)
    return viewer


def _ages(model, field):
    now = timezone.now()
    return sorted(round((now - value).days) for value in model.objects.values_list(field, flat=True))


def test_deletes_what_is_older_than_the_retention_and_audits_it(trail, settings, capsys):
    settings.AUDIT_RETENTION_DAYS = 730
    call_command("prune_audit")
    assert sorted(e.detail["age"] for e in AuditEvent.objects.filter(event=Event.LOGIN_SUCCESS)) == [1, 20]
    assert _ages(ViewEvent, "started_at") == [1, 20]
    prune = AuditEvent.objects.get(event=Event.AUDIT_PRUNE)
    assert prune.actor is None
    assert prune.detail["days"] == 730
    assert prune.detail["audit_events"] == 2
    assert prune.detail["view_events"] == 2
    assert "Deleted 2 audit event(s) and 2 viewing session(s) older than 730 days" in capsys.readouterr().out


def test_days_option_overrides_the_setting(trail):
    call_command("prune_audit", "--days", "10")
    assert [e.detail["age"] for e in AuditEvent.objects.filter(event=Event.LOGIN_SUCCESS)] == [1]
    assert _ages(ViewEvent, "started_at") == [1]
    prune = AuditEvent.objects.get(event=Event.AUDIT_PRUNE)
    assert (prune.detail["days"], prune.detail["audit_events"], prune.detail["view_events"]) == (10, 3, 3)


def test_dry_run_only_counts(trail, capsys):
    call_command("prune_audit", "--days", "10", "--dry-run")
    assert AuditEvent.objects.filter(event=Event.LOGIN_SUCCESS).count() == 4
    assert ViewEvent.objects.count() == 4
    assert not AuditEvent.objects.filter(event=Event.AUDIT_PRUNE).exists()
    assert "Would delete 3 audit event(s) and 3 viewing session(s) older than 10 days" in capsys.readouterr().out


def test_small_batches_delete_everything(trail, django_assert_num_queries):
    # Three old rows of each kind in batches of one: one DELETE per row, nothing left behind.
    with django_assert_num_queries(15) as queries:  # per kind: 3 × (find a batch, DELETE it), the empty find; the audit
        call_command("prune_audit", "--days", "10", "--batch-size", "1")
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert sum("library_viewevent" in sql for sql in deletes) == 3
    assert sum("accounts_auditevent" in sql for sql in deletes) == 3
    assert ViewEvent.objects.count() == 1
    assert AuditEvent.objects.get(event=Event.AUDIT_PRUNE).detail["audit_events"] == 3


def test_nonsense_days_are_refused(trail):
    with pytest.raises(CommandError):
        call_command("prune_audit", "--days", "0")
    with pytest.raises(CommandError):
        call_command("prune_audit", "--batch-size", "0")
    assert ViewEvent.objects.count() == 4


def test_retention_zero_keeps_everything(trail, settings, capsys):
    settings.AUDIT_RETENTION_DAYS = 0
    call_command("prune_audit")
    assert ViewEvent.objects.count() == 4
    assert AuditEvent.objects.count() == 4
    assert "kept for ever" in capsys.readouterr().out
    # The scheduled job does nothing either.
    assert import_string("audit.retention.audit_prune")()["audit_events"] == 0
    assert ViewEvent.objects.count() == 4


def test_runs_daily_from_the_job_queue(trail, settings):
    schedule = Schedule.objects.get(name="audit: prune audit trail")
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        "audit.retention.audit_prune",
        Schedule.DAILY,
        -1,
    )
    # The worker calls the function with no arguments: the setting decides.
    settings.AUDIT_RETENTION_DAYS = 100
    import_string(schedule.func)()
    assert _ages(ViewEvent, "started_at") == [1, 20]
    assert AuditEvent.objects.filter(event=Event.AUDIT_PRUNE).count() == 1
