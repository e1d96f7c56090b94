from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares (DESIGN §9): imports no other app of ours."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
