"""
AuditEvent moves here from accounts, table and all: the table keeps its name
(``accounts_auditevent``), so this only tells Django's state where the model now lives.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

EVENTS = [
    ("login_success", "Signed in"),
    ("login_failure", "Sign-in failed"),
    ("lockout", "Locked out"),
    ("otp_failure", "Second factor failed"),
    ("logout", "Signed out"),
    ("registration", "Registered"),
    ("approval", "Registration approved"),
    ("rejection", "Registration rejected"),
    ("role_change", "Roles changed"),
    ("activation", "Account activated or deactivated"),
    ("account_lock", "Account locked by an admin"),
    ("unlock", "Account unlocked"),
    ("password_change", "Password changed"),
    ("password_reset_request", "Password reset requested"),
    ("password_reset", "Password reset"),
    ("password_forced", "Password change forced"),
    ("otp_enrol", "Second factor added"),
    ("otp_remove", "Second factor removed"),
    ("otp_reset", "Second factors reset by an admin"),
    ("token_revoked", "Tokens revoked"),
    ("profile_change", "Profile changed"),
    ("video_upload", "Video uploaded"),
    ("video_edit", "Video edited"),
    ("video_publish", "Video published"),
    ("video_reject", "Video rejected"),
    ("video_archive", "Video archived"),
    ("video_delete", "Video deleted"),
    ("video_reprocess", "Video reprocessing requested"),
    ("video_resubmit", "Video resubmitted for review"),
    ("catalogue_merge", "Catalogue entries merged"),
    ("audit_prune", "Old audit entries pruned"),
    ("login_throttled", "Sign-ins paused: failures from many addresses"),
    ("quota_refused", "Upload refused: quota reached"),
]


def rename_content_type(apps, schema_editor):
    """On an existing database, keep the permissions (and the roles holding them) with the model."""
    content_types = apps.get_model("contenttypes", "ContentType").objects
    if not content_types.filter(app_label="audit", model="auditevent").exists():
        content_types.filter(app_label="accounts", model="auditevent").update(app_label="audit")


def restore_content_type(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType").objects
    content_types.filter(app_label="audit", model="auditevent").update(app_label="accounts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0006_hardening"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("event", models.CharField(choices=EVENTS, db_index=True, max_length=40)),
                        ("username", models.CharField(blank=True, max_length=254)),
                        ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                        ("user_agent", models.CharField(blank=True, max_length=512)),
                        ("request_id", models.CharField(blank=True, max_length=128)),
                        ("detail", models.JSONField(blank=True, default=dict)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="audit_actions",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "target_user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="audit_subject",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_auditevent",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["actor", "-created_at"], name="audit_actor_idx"),
                            models.Index(fields=["target_user", "-created_at"], name="audit_target_idx"),
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("event__in", [value for value, _ in EVENTS])),
                                name="audit_event_valid",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rename_content_type, restore_content_type),
    ]
