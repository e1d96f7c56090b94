"""The daily retention job now runs audit.retention.audit_prune (it was accounts.retention's)."""

from django.db import migrations

NAME = "accounts: prune audit trail"


def forward(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).update(
        name="audit: prune audit trail", func="audit.retention.audit_prune"
    )


def backward(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="audit: prune audit trail").update(
        name=NAME, func="accounts.retention.audit_prune"
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("accounts", "0005_prune_audit_schedule")]

    operations = [migrations.RunPython(forward, backward)]
