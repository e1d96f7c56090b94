"""Teaching on a case (issue #16): steps and chapters, timestamped discussion, captions."""

from django.apps import AppConfig


class TeachingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "teaching"
