"""Daily jobs (django-q2 schedules): the retention scan and the originals purge."""

from django.db import migrations
from django.utils import timezone

SCHEDULES = {
    # Lists videos past their category's retention; deletes what an Admin confirmed.
    "governance: retention scan": "governance.tasks.retention_scan",
    # Returns at once when KEEP_ORIGINALS_DAYS is empty (originals kept for ever).
    "governance: purge originals": "governance.tasks.originals_purge",
}


def add(apps, schema_editor):
    for name, func in SCHEDULES.items():
        apps.get_model("django_q", "Schedule").objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": "D", "repeats": -1, "next_run": timezone.now()},
        )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial"), ("django_q", "0018_task_success_index")]

    operations = [migrations.RunPython(add, remove)]
