"""
Single sign-on, the rules shared by both kinds of provider (README "Hospital sign-in (SSO)"):
OpenID Connect (accounts.oidc) and LDAP / Active Directory (accounts.directory) call these
after the provider has proved who the person is; neither decides anything itself.

- An identity is matched by the provider's stable subject (:class:`ExternalIdentity`), never by
  name or e-mail. A first sign-in creates the account (``SSO_CREATE_USERS``: active, or awaiting
  approval), or links an existing one only with ``SSO_LINK_EXISTING`` (never a superuser).
- Roles follow the directory's groups at every sign-in (``SSO_ROLE_MAP``, ``SSO_DEFAULT_ROLES``):
  a role the directory granted last time and no longer does is taken away (with the account's
  tokens, as every role change does); roles an Admin granted by hand stay.
- A disabled or vanished directory account is deactivated (and reactivated when the directory
  lets the person in again, unless an Admin deactivated it).

Services in the sense of STYLE.md: keyword-only, atomic, audited, no request.
"""

import logging
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit import trail
from audit.models import AuditEvent

from . import roles, services
from .authentication import LoginRefused
from .models import ExternalIdentity

Event = AuditEvent.Event
User = get_user_model()
logger = logging.getLogger(__name__)

DEFAULT_GROUP = "*"  # the "group" recorded for roles of SSO_DEFAULT_ROLES


def group_key(value: str) -> str:
    """A group as compared: case-insensitive, no spaces around "," and "=" (LDAP DNs)."""
    return re.sub(r"\s*([,=])\s*", r"\1", str(value).strip()).lower()


def role_map() -> dict[str, list[str]]:
    """``SSO_ROLE_MAP`` with comparable keys and a list of roles per group (unknown roles refused)."""
    mapping: dict[str, list[str]] = {}
    for group, granted in (settings.SSO_ROLE_MAP or {}).items():
        names = [granted] if isinstance(granted, str) else list(granted)
        unknown = set(names) - set(roles.ROLES)
        if unknown:
            raise ImproperlyConfigured(
                f"SSO_ROLE_MAP names unknown role(s) {sorted(unknown)}; roles are {roles.ROLES}."
            )
        mapping.setdefault(group_key(group), []).extend(names)
    return mapping


def roles_from_groups(groups) -> dict[str, list[str]]:
    """{role: [groups granting it]} for a person in ``groups`` (DNs or claim values)."""
    mapping = role_map()
    granted: dict[str, list[str]] = {}
    for role in settings.SSO_DEFAULT_ROLES:
        if role not in roles.ROLES:
            raise ImproperlyConfigured(f"SSO_DEFAULT_ROLES names an unknown role: {role}.")
        granted.setdefault(role, []).append(DEFAULT_GROUP)
    for group in sorted({str(g) for g in groups or []}):
        for role in mapping.get(group_key(group), []):
            granted.setdefault(role, []).append(group)
    return {role: sorted(set(found)) for role, found in sorted(granted.items())}


def _placeholder_email(provider: str, subject: str) -> str:
    # The e-mail field is unique and required; a provider that sends none gets an address
    # that can never receive mail (RFC 2606 .invalid) and never equal a real one.
    return f"{re.sub(r'[^a-z0-9]+', '-', subject.lower())[:60]}@{provider}.sso.invalid"


@transaction.atomic
def identity_resolve(*, provider: str, subject: str, location: str, username: str, email: str, full_name: str):
    """
    The account of ``provider``'s ``subject``: the linked one, else (first sign-in) an existing
    local account when ``SSO_LINK_EXISTING`` allows, else a new one. Raises :class:`LoginRefused`
    (``sso_conflict``) when the name is taken by a local account that may not be linked.
    """
    if not subject:
        raise LoginRefused("The sign-in service sent no subject identifier.", "sso_invalid")
    identity = ExternalIdentity.objects.select_related("user").filter(provider=provider, subject=subject).first()
    if identity is not None:
        return identity.user
    username = (username or "").strip()[:150] or subject[:150]
    email = User.objects.normalize_email((email or "").strip()) or _placeholder_email(provider, subject)
    clash = list(
        User.objects.filter(
            Q(username__iexact=username)
            | Q(email__iexact=email)
            | Q(username__iexact=email)
            | Q(email__iexact=username)
        )[:2]
    )
    if clash:
        user = clash[0]
        linkable = (
            settings.SSO_LINK_EXISTING
            and len(clash) == 1
            and not user.is_superuser
            and not user.external_identities.filter(provider=provider).exists()
        )
        if not linkable:
            logger.warning("%s sign-in of %r refused: the name is taken by a local account", provider, username)
            raise LoginRefused(
                "An account with this name or e-mail address already exists here and is not linked to your "
                "sign-in. Ask an administrator to link it.",
                "sso_conflict",
            )
        ExternalIdentity.objects.create(user=user, provider=provider, subject=subject, location=location[:512])
        trail.record(Event.SSO_ACCOUNT_CREATED, target=user, provider=provider, linked=True)
        return user
    approved = settings.SSO_CREATE_USERS
    user = User(
        username=username,
        email=email,
        full_name=(full_name or "")[:150],
        is_active=approved,
        approval_status=User.Approval.APPROVED if approved else User.Approval.PENDING,
        approved_at=timezone.now() if approved else None,
    )
    user.set_unusable_password()  # no local password: sign-in is the provider's
    user.save()
    ExternalIdentity.objects.create(user=user, provider=provider, subject=subject, location=location[:512])
    trail.record(Event.SSO_ACCOUNT_CREATED, target=user, provider=provider, linked=False, approved=approved)
    return user


@transaction.atomic
def identity_sign_in(*, provider: str, subject: str, location: str, groups, disabled: bool = False):
    """
    Bring the account of a person the provider has just authenticated up to date: roles from
    ``groups``, deactivation when the directory says ``disabled``, reactivation when an account
    the directory had deactivated may sign in again. Returns the (refreshed) user; the sign-in
    policy (accounts.authentication) then decides whether they may enter.
    """
    identity = (
        ExternalIdentity.objects.select_for_update().select_related("user").get(provider=provider, subject=subject)
    )
    user = identity.user
    identity.location = location[:512]
    identity.last_sign_in_at = timezone.now()
    fields = ["location", "last_sign_in_at"]
    if disabled:
        identity.save(update_fields=fields)
        identity_deprovision(identity=identity, reason="disabled")
        user.refresh_from_db()
        return user
    if identity.deprovisioned_at is not None:
        if not user.is_active and user.is_approved:
            services.user_set_active(actor=None, user=user, active=True)
        identity.deprovisioned_at = None
        fields.append("deprovisioned_at")
    if user.is_approved:  # an account awaiting approval gets its roles once approved and back
        _roles_sync(identity, groups, provider)
        fields.append("roles")
    identity.save(update_fields=fields)
    user.refresh_from_db()
    user.__dict__.pop("roles", None)
    return user


def _roles_sync(identity: ExternalIdentity, groups, provider: str) -> None:
    """Add the roles the groups grant; remove those the directory granted before and no longer does."""
    user = identity.user
    granted = roles_from_groups(groups)
    before = set(user.groups.values_list("name", flat=True))
    withdrawn = set(identity.roles) - set(granted)
    wanted = (before - withdrawn) | set(granted)
    if wanted != before:
        services.user_set_roles(actor=None, user=user, role_names=sorted(wanted), via=provider)
    identity.roles = granted


@transaction.atomic
def identity_deprovision(*, identity: ExternalIdentity, reason: str) -> bool:
    """
    Deactivate the account of a directory entry that is gone or disabled (``reason``), ending
    its sessions and tokens. Returns False when it was inactive already (then an Admin did it,
    and the directory will not undo that).
    """
    user = identity.user
    if not user.is_active:
        return False
    services.user_set_active(actor=None, user=user, active=False)
    ExternalIdentity.objects.filter(pk=identity.pk).update(deprovisioned_at=timezone.now())
    trail.record(Event.DEPROVISION, target=user, provider=identity.provider, reason=reason)
    return True


def role_sources(user) -> list[tuple[str, str]]:
    """(role, where it came from) for each of ``user``'s roles, for the admin."""
    granted: dict[str, list[str]] = {}
    for identity in user.external_identities.all():
        for role, groups in (identity.roles or {}).items():
            label = identity.get_provider_display()
            granted.setdefault(role, []).extend(
                f"{label}: every account (SSO_DEFAULT_ROLES)" if g == DEFAULT_GROUP else f"{label} group {g}"
                for g in groups
            )
    return [(role, "; ".join(granted.get(role, [])) or "granted by an administrator") for role in user.roles]
