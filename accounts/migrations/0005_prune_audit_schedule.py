"""Daily job (django-q2 schedule): delete audit entries past AUDIT_RETENTION_DAYS."""

from datetime import datetime, time, timedelta

from django.db import migrations
from django.utils import timezone

NAME = "accounts: prune audit trail"


def _next_night():
    """03:00 local time tomorrow: deletions run when the library is quiet."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, time(3, 0)))


def add(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "accounts.retention.audit_prune",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": _next_night(),
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_more_audit_events"), ("django_q", "0018_task_success_index")]

    operations = [migrations.RunPython(add, remove)]
