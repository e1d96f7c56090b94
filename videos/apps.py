from django.apps import AppConfig


class VideosConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "videos"

    def ready(self):
        from . import signals  # noqa: F401  (keeps search_terms in step with the catalogue)
