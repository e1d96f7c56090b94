from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit trail every app writes to (DESIGN §9): imports only core."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
