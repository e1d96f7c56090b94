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

        # django-auth-ldap reports an unreachable directory through this hook (and would
        # otherwise answer "wrong password"); accounts.directory turns it into a refusal.
        from django_auth_ldap.backend import ldap_error

        from .directory import DirectoryBackend, on_ldap_error

        ldap_error.connect(on_ldap_error, sender=DirectoryBackend, dispatch_uid="accounts.directory.on_ldap_error")

    def ready(self):
        self.connect_signals()
