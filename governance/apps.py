"""Governance (issue #17): consent, retention with legal hold, originals, the access review."""

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "governance"

    def ready(self):
        from videos import review_views, views
        from videos.services import review, uploads

        from . import panels, services

        # Withdrawn consent (and, with CONSENT_REQUIRED, no consent) blocks every publication.
        review.register_publish_check(services.consent_publish_blockers)
        # Nothing under legal hold is deleted, through any door.
        uploads.register_delete_check(services.legal_hold_delete_blockers)
        # An upload may carry its consent (consent_status, consent_purpose).
        uploads.register_upload_extra(services.consent_upload_extra)
        # The review page shows and sets consent and the legal hold.
        review_views.register_review_panel("governance/_review_panel.html", panels.review_panel)
        # ... and the upload page records it once a file's details are saved.
        views.register_upload_panel("governance/_upload_consent.html", panels.upload_panel, "js/upload-consent.js")
