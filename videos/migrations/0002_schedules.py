"""Periodic jobs (django-q2 schedules): reap stalled transcodes, purge abandoned uploads."""

from django.db import migrations

SCHEDULES = [
    ("videos: reap stalled transcodes", "videos.tasks.reap_stalled", 5),
    ("videos: purge expired uploads", "videos.tasks.purge_expired_uploads", 60),
]


def add(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1}
        )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("videos", "0001_initial"), ("django_q", "0018_task_success_index")]

    operations = [migrations.RunPython(add, remove)]
