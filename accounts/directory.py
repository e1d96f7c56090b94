"""
LDAP / Active Directory sign-in through django-auth-ldap, and the directory check.

The library binds with the person's password (after StartTLS, or over ldaps) and lists their
groups; this module reads the entry's stable identifier and the disabled-account rule
(``LDAP_DISABLED_FILTER``), and hands the result to :mod:`accounts.sso`, which owns the rules
about accounts and roles. The password step is the shared one (``accounts.authentication.
login_check`` calls Django's ``authenticate``), so lockout, the account brake and the rate
limits apply to directory accounts exactly as to local ones.

Settings: ``LDAP_*`` (config/settings.py, README), turned into ``AUTH_LDAP_*`` by
:mod:`accounts.ldap_config`.
"""

import logging
import uuid

import ldap
import ldap.filter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django_auth_ldap.backend import LDAPBackend

from . import sso
from .authentication import LoginRefused
from .models import ExternalIdentity

logger = logging.getLogger(__name__)
User = get_user_model()
PROVIDER = ExternalIdentity.Provider.LDAP
# Attributes holding a binary GUID (Active Directory); others are compared as text.
_BINARY_GUIDS = {"objectguid"}


class DirectoryUnavailable(LoginRefused):
    """The directory could not be asked (down, TLS failure, wrong service account): not a wrong password."""

    def __init__(self):
        super().__init__(
            "The hospital directory cannot be reached just now, so your password could not be checked. "
            "Try again in a few minutes; if this persists, tell IT.",
            "directory_unavailable",
        )

    @property
    def status(self) -> int:
        return 503


def on_ldap_error(sender, context, user=None, request=None, exception=None, **kwargs):
    """
    django-auth-ldap's ``ldap_error`` hook: the library would log the error and report a wrong
    password (and our lockout would count it); say the directory is unavailable instead.
    """
    logger.error("LDAP error while %s: %r", context, exception)
    raise DirectoryUnavailable()


# ------------------------------------------------------------------------------ entries


def subject_value(raw) -> str:
    """The stable identifier as stored: AD's binary objectGUID as a GUID string, others as text."""
    if settings.LDAP_SUBJECT_ATTRIBUTE.lower() in _BINARY_GUIDS:
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
        return str(uuid.UUID(bytes_le=bytes(data)))
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def subject_filter(subject: str) -> str:
    """An equality filter finding the entry with this stable identifier."""
    attribute = settings.LDAP_SUBJECT_ATTRIBUTE
    if attribute.lower() in _BINARY_GUIDS:
        value = "".join(f"\\{byte:02x}" for byte in uuid.UUID(subject).bytes_le)
    else:
        value = ldap.filter.escape_filter_chars(subject)
    return f"({attribute}={value})"


def _disabled(connection, dn: str) -> bool:
    rule = settings.LDAP_DISABLED_FILTER
    if not rule:
        return False
    found = connection.search_s(dn, ldap.SCOPE_BASE, f"(&(objectClass=*){rule})", ["1.1"])
    return bool([entry for entry in found if entry[0]])


def connect():
    """A connection bound as the service account, with the same TLS options as sign-in."""
    connection = ldap.initialize(settings.AUTH_LDAP_SERVER_URI, bytes_mode=False)
    for option, value in settings.AUTH_LDAP_CONNECTION_OPTIONS.items():
        connection.set_option(option, value)
    if settings.AUTH_LDAP_START_TLS:
        connection.start_tls_s()
    connection.simple_bind_s(settings.AUTH_LDAP_BIND_DN, settings.AUTH_LDAP_BIND_PASSWORD)
    return connection


def entry_state(connection, subject: str) -> str:
    """ "ok", "gone" or "disabled" for the entry with this stable identifier."""
    found = connection.search_s(settings.LDAP_USER_SEARCH_BASE, ldap.SCOPE_SUBTREE, subject_filter(subject), ["1.1"])
    entries = [dn for dn, _attrs in found if dn]
    if not entries:
        return "gone"
    return "disabled" if _disabled(connection, entries[0]) else "ok"


# ------------------------------------------------------------------------------ sign-in


def _first(attrs, name: str) -> str:
    values = (attrs or {}).get(name) or []
    value = values[0] if values else ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class DirectoryBackend(LDAPBackend):
    """
    django-auth-ldap's backend, with the account found by the entry's stable identifier
    (accounts.sso) instead of by username, and roles, disabling and reactivation applied at
    every sign-in. It grants no permissions itself (roles are groups here).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.LDAP_ENABLED or kwargs.get("directory") is False or not username:
            return None
        local = User.objects.by_login(username).first()
        if (
            local is not None
            and not settings.SSO_LINK_EXISTING
            and not local.external_identities.filter(provider=PROVIDER).exists()
        ):
            return None  # a local account's name: its password is checked here, never by the directory
        return super().authenticate(request, username=username, password=password)

    def authenticate_ldap_user(self, ldap_user, password):
        with transaction.atomic():
            user = super().authenticate_ldap_user(ldap_user, password)
            if user is None:
                return None
            return sso.identity_sign_in(
                provider=PROVIDER,
                subject=ldap_user._svl_subject,
                location=ldap_user.dn or "",
                groups=sorted(ldap_user.group_dns),
                disabled=_disabled(ldap_user.connection, ldap_user.dn),
            )

    def get_or_build_user(self, username, ldap_user):
        attrs = ldap_user.attrs
        raw = (attrs or {}).get(settings.LDAP_SUBJECT_ATTRIBUTE) or []
        if not raw:
            logger.error(
                "LDAP entry %s has no %s: check LDAP_SUBJECT_ATTRIBUTE", ldap_user.dn, settings.LDAP_SUBJECT_ATTRIBUTE
            )
            raise ldap_user.AuthenticationFailed("no stable identifier")
        ldap_user._svl_subject = subject_value(raw[0])
        user = sso.identity_resolve(
            provider=PROVIDER,
            subject=ldap_user._svl_subject,
            location=ldap_user.dn or "",
            username=username,
            email=_first(attrs, settings.LDAP_ATTR_EMAIL),
            full_name=_first(attrs, settings.LDAP_ATTR_FULL_NAME),
        )
        return user, False  # created (with an unusable password) by accounts.sso when new

    # Roles are Django groups (accounts.roles); the directory grants no permission directly.
    def has_perm(self, user, perm, obj=None):
        return False

    def has_module_perms(self, user, app_label):
        return False

    def get_all_permissions(self, user, obj=None):
        return set()

    def get_group_permissions(self, user, obj=None):
        return set()

    def get_user(self, user_id):
        return None  # sessions name accounts.backends.UsernameOrEmailBackend


# ------------------------------------------------------------------------------ the periodic check


def directory_check() -> dict:
    """
    Deactivate the accounts whose directory entry is gone or disabled (django-q2 schedule,
    hourly; ``manage.py``-free: see accounts.tasks). Does nothing when the directory cannot be
    reached, and deactivates nobody when more than ``LDAP_DEPROVISION_MAX`` would go at once
    (a wrong search base must not lock everyone out): it logs an error instead.
    """
    if not settings.LDAP_ENABLED:
        return {"checked": 0}
    identities = list(
        ExternalIdentity.objects.filter(provider=PROVIDER, deprovisioned_at=None, user__is_active=True).select_related(
            "user"
        )
    )
    connection = connect()  # an error here fails the job: nothing is deactivated
    try:
        verdicts = [(identity, entry_state(connection, identity.subject)) for identity in identities]
    finally:
        connection.unbind_s()
    leaving = [(identity, state) for identity, state in verdicts if state != "ok"]
    if len(leaving) > settings.LDAP_DEPROVISION_MAX:
        logger.error(
            "directory check: %d of %d accounts look gone or disabled, more than LDAP_DEPROVISION_MAX=%d; "
            "none deactivated (check LDAP_USER_SEARCH_BASE and the service account)",
            len(leaving),
            len(verdicts),
            settings.LDAP_DEPROVISION_MAX,
        )
        return {"checked": len(verdicts), "refused": len(leaving)}
    deactivated = sum(sso.identity_deprovision(identity=identity, reason=state) for identity, state in leaving)
    return {"checked": len(verdicts), "deactivated": deactivated}
