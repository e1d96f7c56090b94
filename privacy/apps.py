"""Patient privacy (issue #17): the privacy scan, redaction decisions and quarantine."""

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "privacy"

    def ready(self):
        # Hand behaviour down to videos through its hooks: videos never imports privacy.
        from django.db.models.signals import post_delete

        from videos import review_views
        from videos.models import Video
        from videos.services import poster, review, transcode
        from videos.signals import ladder_complete

        from . import panels, services

        review.register_publish_check(services.publish_check)
        transcode.register_source_provider(services.redacted_source)
        transcode.register_picture_provider(services.picture_edit)
        poster.register_poster_check(services.poster_check)
        ladder_complete.connect(services.on_ladder_complete, sender=Video, dispatch_uid="privacy.ladder_complete")
        review_views.register_review_panel("privacy/_review_panel.html", panels.review_panel)
        post_delete.connect(_video_deleted, sender=Video, dispatch_uid="privacy.video_deleted")


def _video_deleted(sender, instance, **kwargs):
    """The redacted recording goes with the video (after commit: a rolled-back delete keeps it)."""
    from django.db import transaction

    from .services import privacy_files_remove

    video_uuid = instance.uuid
    transaction.on_commit(lambda: privacy_files_remove(video_uuid=video_uuid))
