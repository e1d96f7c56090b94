"""Teaching on a case (issue #16): steps and chapters, timestamped discussion, captions."""

from django.apps import AppConfig


class TeachingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "teaching"

    def ready(self):
        from videos.api.serializers import register_detail_section

        from . import signals  # noqa: F401  (the unread count, read at sign-in)
        from .models import chapter_list

        # The video's representation (GET /api/v1/videos/<id>/) carries its chapters.
        register_detail_section("chapters", lambda video, user: chapter_list(video))
