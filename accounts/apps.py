from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def connect_signals(self):
        from . import roles
        from .api import schema  # noqa: F401  (registers the OpenAPI auth extensions)

        # Like Django's own create_permissions: keep derived rows in step after migrate.
        post_migrate.connect(roles.sync_role_permissions, dispatch_uid="accounts.sync_role_permissions")

    def ready(self):
        self.connect_signals()
