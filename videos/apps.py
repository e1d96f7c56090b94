from django.apps import AppConfig


class VideosConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "videos"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import search_index, signals  # noqa: F401  (signals keep search_terms in step)

        post_migrate.connect(search_index.on_post_migrate, sender=self)

        from accounts.signals import tokens_revoked

        from . import revocation

        tokens_revoked.connect(revocation.after_commit_forget, dispatch_uid="videos.revocation")

        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        from .services import review

        unknown = sorted(set(settings.PUBLISH_REQUIRED_FIELDS) - review.REQUIRED_FIELDS.keys())
        if unknown:
            raise ImproperlyConfigured(
                f"PUBLISH_REQUIRED_FIELDS: unknown {', '.join(unknown)}; choose from {', '.join(review.REQUIRED_FIELDS)}"
            )
        # A case says what it is, who operated and when before anyone may publish it (issue #15).
        review.register_publish_check(review.required_fields_missing)
