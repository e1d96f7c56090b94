"""AuditEvent now lives in the audit app (its table is unchanged: see audit 0001)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_hardening"), ("audit", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AuditEvent")], database_operations=[]),
    ]
