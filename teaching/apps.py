"""Teaching on a case (issue #16): steps and chapters, timestamped discussion, captions."""

from django.apps import AppConfig


class TeachingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "teaching"

    def ready(self):
        from django.db.models.signals import post_migrate

        from videos.api.serializers import register_detail_section
        from videos.models import Video
        from videos.signals import ladder_complete

        from . import search, services, signals  # noqa: F401  (signals: the unread count at sign-in, caption files)
        from .models import chapter_list

        # On SQLite, the cues' FTS5 index and its triggers (teaching.search), after every migrate.
        post_migrate.connect(search.on_post_migrate, sender=self)

        # The video's representation (GET /api/v1/videos/<id>/) carries its chapters.
        register_detail_section("chapters", lambda video, user: chapter_list(video))

        # Speech-to-text draft captions once a ladder is complete (when configured: teaching.speech).
        ladder_complete.connect(services.on_ladder_complete, sender=Video, dispatch_uid="teaching.ladder_complete")
