from django.apps import AppConfig


class LibraryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "library"

    def ready(self):
        from audit import retention
        from videos.models import register_viewer_state

        from . import signals  # noqa: F401  (synonym cache invalidation)
        from .models import ViewEvent, viewer_state

        # Viewing sessions are kept for the audit ("who watched") and pruned with it.
        retention.register(
            "view_events", lambda cutoff: ViewEvent.objects.filter(started_at__lt=cutoff), label="viewing session(s)"
        )
        # Every video list shows the viewer's favourite mark and resume position.
        register_viewer_state(viewer_state)
