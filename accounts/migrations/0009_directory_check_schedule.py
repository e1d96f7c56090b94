"""Hourly job (django-q2 schedule): deactivate accounts whose directory entry is gone or disabled."""

from django.db import migrations
from django.utils import timezone

NAME = "accounts: check directory accounts"


def add(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            # Returns at once when LDAP is not configured (accounts.tasks.directory_check).
            "func": "accounts.tasks.directory_check",
            "schedule_type": "H",
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_sso"), ("django_q", "0018_task_success_index")]

    operations = [migrations.RunPython(add, remove)]
