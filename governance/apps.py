"""Governance (issue #17): consent, retention with legal hold, originals, the access review."""

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "governance"
