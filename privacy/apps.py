"""Patient privacy (issue #17): the privacy scan, redaction decisions, consent, retention."""

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "privacy"
