"""
Writes on accounts. Every door (HTML views, API views, admin, management commands) calls
these functions, so each rule exists once. Functions are keyword-only, atomic, audit in
the same transaction, and send notices after commit. They never take the request: the audit
reads who and where from it (``audit.trail``), and a door that must keep its own browser
signed in after a change does so itself (``accounts.authentication.session_keep``).
"""

import logging
import secrets
import string
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.formats import date_format
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from audit import trail
from audit.models import AuditEvent

from . import roles
from .models import PasswordHistory, PersonalToken, api_token_digest
from .signals import tokens_revoked
from .validators import normalise_mobile, validate_id_document

Event = AuditEvent.Event
User = get_user_model()
logger = logging.getLogger(__name__)

PASSWORD_HISTORY_LENGTH = 5


# --------------------------------------------------------------------------------------
# Notices (sent after commit through the job queue; never carry a secret)
# --------------------------------------------------------------------------------------
def _notify(*, user_id: int, template: str, subject: str, **context) -> None:
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task(
            "accounts.tasks.send_notice", user_id=user_id, template=template, subject=subject, context=context
        )
    )


def notice_send(*, user, template: str, subject: str, context: dict) -> None:
    """Render ``accounts/email/<template>.txt`` and e-mail it to ``user``."""
    body = render_to_string(
        f"accounts/email/{template}.txt",
        {"user": user, "site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context},
    )
    send_mail(subject=f"{settings.SITE_NAME}: {subject}", message=body, from_email=None, recipient_list=[user.email])


# --------------------------------------------------------------------------------------
# Registration and approval
# --------------------------------------------------------------------------------------
def _unique_errors(*, username: str, email: str, employee_id: str | None, mobile: str | None, exclude_pk=None) -> dict:
    others = User.objects.exclude(pk=exclude_pk) if exclude_pk else User.objects.all()
    errors = {}
    # Sign-in accepts a username *or* an e-mail address, so neither may equal the other
    # of a different account: a username "alice@x.org" would shadow Alice's e-mail sign-in
    # (and her lockout counter), an e-mail equal to someone's username theirs.
    if username and others.filter(Q(username__iexact=username) | Q(email__iexact=username)).exists():
        errors["username"] = "That username is taken."
    if email and others.filter(Q(email__iexact=email) | Q(username__iexact=email)).exists():
        errors["email"] = "An account with this e-mail address already exists."
    if employee_id and others.filter(employee_id__iexact=employee_id).exists():
        errors["employee_id"] = "An account with this employee ID already exists."
    if mobile and others.filter(mobile=mobile).exists():
        errors["mobile"] = "An account with this mobile number already exists."
    return errors


def user_register(
    *,
    username: str,
    email: str,
    password: str,
    full_name: str = "",
    employee_id: str | None = None,
    mobile: str | None = None,
    user_type: str = User.UserType.EMPLOYEE,
    id_document=None,
) -> User:
    """
    Create a self-registered account. It stays inactive until an Admin approves it.
    Only ever creates: an existing account (same username, e-mail, employee ID or mobile,
    ignoring case) is an error, never an overwrite (seed flaw C3).
    """
    if not settings.REGISTRATION_OPEN:
        raise PermissionDenied("Self-registration is closed. Ask an administrator for an account.")
    username = (username or "").strip()
    email = User.objects.normalize_email((email or "").strip())
    employee_id = (employee_id or "").strip() or None
    errors: dict[str, list[str] | str] = {}
    if mobile:
        try:
            mobile = normalise_mobile(mobile)
        except ValidationError as exc:
            errors["mobile"] = exc.messages
    mobile = mobile or None
    if user_type not in User.UserType.values:
        errors["user_type"] = "Choose employee or general."
    if id_document is not None:
        try:
            validate_id_document(id_document)
        except ValidationError as exc:
            errors["id_document"] = exc.messages
    errors.update(_unique_errors(username=username, email=email, employee_id=employee_id, mobile=mobile))
    user = User(
        username=username,
        email=email,
        full_name=(full_name or "").strip(),
        employee_id=employee_id,
        mobile=mobile,
        user_type=user_type,
        is_active=False,
        approval_status=User.Approval.PENDING,
    )
    try:
        user.full_clean(exclude=["password", "id_document"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, messages)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            if id_document is not None:
                user.id_document.save(id_document.name, id_document, save=False)
                user.save(update_fields=["id_document"])
            trail.record(Event.REGISTRATION, actor=user, target=user, has_document=id_document is not None)
    except IntegrityError:
        # Two registrations raced for the same name; the constraint kept the first.
        raise ValidationError({"username": "That username or e-mail address is already registered."}) from None
    for approver in User.objects.with_perm("accounts.approve_registration"):
        _notify(
            user_id=approver.pk,
            template="registration_pending",
            subject="a registration awaits approval",
            username=user.username,
        )
    _notify(user_id=user.pk, template="registration_received", subject="registration received")
    return user


@transaction.atomic
def user_approve(*, actor, user) -> User:
    """Approve a pending registration: activate the account as a Viewer and tell the user."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.approval_status == User.Approval.APPROVED:
        return user
    user.approval_status = User.Approval.APPROVED
    user.is_active = True
    user.approved_at = timezone.now()
    user.approved_by = actor
    user.rejection_reason = ""
    user.save(update_fields=["approval_status", "is_active", "approved_at", "approved_by", "rejection_reason"])
    user.groups.add(Group.objects.get(name=roles.VIEWER))
    trail.record(Event.APPROVAL, actor=actor, target=user)
    _notify(user_id=user.pk, template="registration_approved", subject="your account is ready")
    return user


@transaction.atomic
def user_reject(*, actor, user, reason: str = "") -> User:
    """Reject a pending registration; the account stays inactive and the user is told why."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.approval_status != User.Approval.PENDING:
        raise ValidationError("Only registrations awaiting approval can be rejected.")
    user.approval_status = User.Approval.REJECTED
    user.is_active = False
    user.rejection_reason = (reason or "").strip()[:500]
    user.save(update_fields=["approval_status", "is_active", "rejection_reason"])
    trail.record(Event.REJECTION, actor=actor, target=user, reason=user.rejection_reason)
    _notify(
        user_id=user.pk,
        template="registration_rejected",
        subject="registration not approved",
        reason=user.rejection_reason,
    )
    return user


# --------------------------------------------------------------------------------------
# Roles, activation, locks
# --------------------------------------------------------------------------------------
@transaction.atomic
def user_set_roles(*, actor, user, role_names: list[str], via: str = "") -> User:
    """
    Give ``user`` exactly ``role_names``. Any change revokes their issued tokens. ``via`` names
    the directory a change came from (accounts.sso), for the audit trail.
    """
    unknown = set(role_names) - set(roles.ROLES)
    if unknown:
        raise ValidationError(f"Unknown role(s): {', '.join(sorted(unknown))}.")
    before = set(user.groups.values_list("name", flat=True))
    after = set(role_names)
    if before == after:
        return user
    user.groups.set(Group.objects.filter(name__in=after))
    user.is_staff = bool(after.intersection(roles.ADMIN_SITE_ROLES))
    user.save(update_fields=["is_staff"])
    user.__dict__.pop("roles", None)
    tokens_revoke(user=user)
    trail.record(
        Event.ROLE_CHANGE,
        actor=actor,
        target=user,
        added=sorted(after - before),
        removed=sorted(before - after),
        **({"via": via} if via else {}),
    )
    return user


@transaction.atomic
def user_set_superuser(*, actor, user, superuser: bool) -> User:
    """
    Grant or remove superuser status, the strongest role: recorded as a role change, and
    the user's tokens stop working (the security stamp includes it). Only a superuser may.
    """
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied("Only a superuser can grant or remove superuser status.")
    if user.is_superuser == superuser:
        return user
    user.is_superuser = superuser
    user.save(update_fields=["is_superuser"])
    tokens_revoke(user=user)
    granted = ["superuser"]
    trail.record(
        Event.ROLE_CHANGE,
        actor=actor,
        target=user,
        added=granted if superuser else [],
        removed=[] if superuser else granted,
    )
    return user


def user_set_active_check(*, actor, user, active: bool) -> None:
    """Raise ValidationError if ``actor`` may not make ``user`` (in)active (forms call it too)."""
    if actor is not None and actor.pk == user.pk and not active:
        raise ValidationError("You cannot deactivate your own account.")


@transaction.atomic
def user_set_active(*, actor, user, active: bool) -> User:
    """Activate or deactivate an approved account; deactivation revokes its tokens."""
    if user.is_active == active:
        return user
    user_set_active_check(actor=actor, user=user, active=active)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        tokens_revoke(user=user)
    trail.record(Event.ACTIVATION, actor=actor, target=user, active=active)
    return user


@transaction.atomic
def user_lock(*, actor, user, hours: float = 24) -> User:
    """Lock an account everywhere for ``hours`` and end its sessions and tokens."""
    user.locked_until = timezone.now() + timedelta(hours=hours)
    user.save(update_fields=["locked_until"])
    _sign_out(user)
    trail.record(Event.ACCOUNT_LOCK, actor=actor, target=user, hours=hours)
    return user


@transaction.atomic
def sign_in_pause(*, user, username: str, failures: int, addresses: int) -> None:
    """
    Record that signing in to ``user`` (or to the name ``username``, which has no account) is
    paused for ``ACCOUNT_BRAKE_COOLOFF`` after ``failures`` failures from ``addresses``
    addresses, and tell the account holder, once. The rule itself is in
    :mod:`accounts.authentication`; the notice names no password, code or address.
    """
    minutes = round(settings.ACCOUNT_BRAKE_COOLOFF.total_seconds() / 60)
    trail.record(
        Event.LOGIN_THROTTLED,
        target=user,
        username=username,
        failures=failures,
        addresses=addresses,
        minutes=minutes,
    )
    if user is not None:
        until = timezone.localtime(timezone.now() + settings.ACCOUNT_BRAKE_COOLOFF)
        _notify(
            user_id=user.pk,
            template="login_throttled",
            subject="sign-in to your account is paused",
            failures=failures,
            addresses=addresses,
            window=round(settings.ACCOUNT_BRAKE_WINDOW.total_seconds() / 60),
            minutes=minutes,
            until=date_format(until, "DATETIME_FORMAT"),
        )


@transaction.atomic
def user_unlock(*, actor, user) -> User:
    """Lift an admin lock, every django-axes lockout and any sign-in pause of the account."""
    from axes.utils import reset

    from .backends import axes_username

    if user.locked_until is not None:
        user.locked_until = None
        user.save(update_fields=["locked_until"])
    cleared = reset(username=axes_username(None, {"username": user.username}))
    trail.record(Event.UNLOCK, actor=actor, target=user, attempts_cleared=cleared)
    return user


@transaction.atomic
def sign_out_everywhere(*, actor=None, user, reason: str = "") -> None:
    """
    End every browser session, API token and signed media URL of ``user`` (an admin's
    action; ``reason`` when a rule does it, as turning on two-step sign-in does). A door whose
    own browser must stay signed in refreshes its session afterwards
    (:func:`accounts.authentication.session_keep`).
    """
    _sign_out(user)
    trail.record(Event.TOKEN_REVOKED, actor=actor, target=user, **({"reason": reason} if reason else {}))


def _sign_out(user) -> None:
    """
    Bump ``token_generation``, which is in the session hash (``User._get_session_auth_hash``)
    and the security stamp, so every browser session and access token ends; then revoke
    the refresh tokens and media URLs. The lock and :func:`sign_out_everywhere` share it.
    """
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])
    tokens_revoke(user=user)


def tokens_revoke(*, user) -> int:
    """
    Blacklist every outstanding refresh token of ``user`` (access tokens die by the stamp)
    and void every signed media URL issued to them so far (``User.tokens_revoked_at``, read
    by videos.revocation). Call it whenever the security stamp changes.
    """
    User.objects.filter(pk=user.pk).update(tokens_revoked_at=timezone.now())
    tokens_revoked.send(sender=User, user_id=user.pk)
    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()).exclude(
        blacklistedtoken__isnull=False
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    if settings.API_TOKENS_ENABLED:
        PersonalToken.objects.filter(user=user, revoked_at=None).update(revoked_at=timezone.now())
    return len(outstanding)


# --------------------------------------------------------------------------------------
# Personal API tokens (how SSO and directory accounts reach the API; README "Hospital sign-in")
# --------------------------------------------------------------------------------------
API_TOKENS_PER_USER = 20


@transaction.atomic
def api_token_create(*, user, name: str, second_factor: bool) -> tuple[PersonalToken, str]:
    """
    Create a personal API token for ``user`` and return it with its secret, which is shown
    this once and stored only as a digest. ``second_factor`` says whether the creating session
    passed one; the JWTs it yields carry that (OTP_REQUIRED_ROLES).
    """
    if not settings.API_TOKENS_ENABLED:
        raise PermissionDenied("Personal API tokens are not enabled on this server.")
    name = (name or "").strip()[:100]
    if not name:
        raise ValidationError({"name": "Give the token a name, e.g. the script or computer that uses it."})
    if PersonalToken.objects.filter(user=user).usable().count() >= API_TOKENS_PER_USER:
        raise ValidationError({"name": f"You have {API_TOKENS_PER_USER} tokens already; revoke one first."})
    body = secrets.token_urlsafe(32)
    secret = f"{PersonalToken.PREFIX}{body}"
    days = settings.API_TOKEN_DAYS
    token = PersonalToken.objects.create(
        user=user,
        name=name,
        digest=api_token_digest(secret),
        hint=body[:6],
        second_factor=second_factor,
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    trail.record(Event.API_TOKEN_CREATED, actor=user, target=user, token_id=token.pk, name=name)
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor, user, token_id) -> bool:
    """Revoke one of ``user``'s personal API tokens; False when there is no such usable token."""
    try:
        token_id = int(token_id)
    except (TypeError, ValueError):
        return False
    revoked = PersonalToken.objects.filter(pk=token_id, user=user, revoked_at=None).update(revoked_at=timezone.now())
    if revoked:
        trail.record(Event.API_TOKEN_REVOKED, actor=actor, target=user, token_id=token_id)
    return bool(revoked)


# --------------------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------------------
def _password_set(*, user, raw_password: str, temporary: bool = False) -> None:
    """Validate and store a new password, remembering the old hash for the history rule."""
    validate_password(raw_password, user)
    if user.password and user.has_usable_password():
        PasswordHistory.objects.create(user=user, password=user.password)
        stale = list(user.password_history.values_list("pk", flat=True)[PASSWORD_HISTORY_LENGTH:])
        if stale:
            PasswordHistory.objects.filter(pk__in=stale).delete()
    user.set_password(raw_password)
    user.must_change_password = temporary
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    tokens_revoke(user=user)


@transaction.atomic
def password_change(*, user, old_password: str, new_password: str) -> None:
    """
    The signed-in user changes their own password (the current one is required). Every
    session and token of theirs ends; the door keeps its own browser signed in
    (:func:`accounts.authentication.session_keep`).
    """
    if not user.check_password(old_password or ""):
        raise ValidationError({"old_password": "Your current password is not correct."})
    try:
        _password_set(user=user, raw_password=new_password)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    trail.record(Event.PASSWORD_CHANGE, actor=user, target=user)


@transaction.atomic
def password_set_by_admin(*, actor, user, temporary_password: str | None = None) -> str:
    """
    Give ``user`` a temporary password they must change at next sign-in, and return it so
    the admin can pass it on out of band. Generated passwords always satisfy the policy.
    """
    password = temporary_password or password_generate()
    _password_set(user=user, raw_password=password, temporary=True)
    trail.record(Event.PASSWORD_FORCED, actor=actor, target=user, temporary=True)
    return password


@transaction.atomic
def password_force_change(*, actor, user) -> None:
    """
    Require ``user`` to choose a new password at their next sign-in. Until then they get no
    playlist or key (videos.api.views), and the media URLs already issued to them are void.
    """
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    tokens_revoke(user=user)
    trail.record(Event.PASSWORD_FORCED, actor=actor, target=user)


def password_generate(length: int = 16) -> str:
    """A random password that always passes the complexity rules (unlike the seed's)."""
    pools = [string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#%*+-.?@_"]
    chars = [secrets.choice(pool) for pool in pools]
    chars += [secrets.choice("".join(pools)) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def password_reset_request(*, email: str) -> None:
    """
    E-mail a reset link if an active account has this address. The caller always answers
    the same way, so the response never reveals whether the account exists.
    The token is Django's: an HMAC over the password hash and last login, so it is stored
    nowhere, expires after ``PASSWORD_RESET_TIMEOUT`` and dies as soon as it is used.
    """
    user = User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()
    if user is None or not user.has_usable_password() or not user.may_use_local_password:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.SITE_URL + reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    body = render_to_string(
        "accounts/email/password_reset.txt",
        {
            "user": user,
            "link": link,
            "uid": uid,
            "token": token,
            "site_name": settings.SITE_NAME,
            "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        },
    )
    with transaction.atomic():
        trail.record(Event.PASSWORD_RESET_REQUEST, target=user)
    # Sent directly, not through the job queue, so the token never lands in a table.
    send_mail(
        subject=f"{settings.SITE_NAME}: reset your password", message=body, from_email=None, recipient_list=[user.email]
    )


def password_reset_user(*, uidb64: str, token: str):
    """The user a reset link belongs to, or None if the link is invalid, used or expired."""
    try:
        pk = urlsafe_base64_decode(uidb64 or "").decode()
        user = User.objects.get(pk=pk, is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist, UnicodeDecodeError):
        return None
    return user if default_token_generator.check_token(user, token or "") else None


@transaction.atomic
def password_reset_confirm(*, uidb64: str, token: str, new_password: str) -> User:
    """Set a new password from a reset link. The link stops working once used."""
    user = password_reset_user(uidb64=uidb64, token=token)
    if user is None:
        raise ValidationError({"token": "This reset link is invalid, expired or already used."})
    try:
        _password_set(user=user, raw_password=new_password)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    # Resetting by e-mail proves control of the mailbox: clear lockouts too.
    from axes.utils import reset

    reset(username=user.username.lower())
    trail.record(Event.PASSWORD_RESET, actor=user, target=user)
    return user


# --------------------------------------------------------------------------------------
# Profile and preferences
# --------------------------------------------------------------------------------------
PROFILE_FIELDS = ["full_name", "mobile", "theme", "autoplay_next", "default_quality", "default_speed"]


@transaction.atomic
def profile_update(*, user, **changes) -> User:
    """Change the caller's own profile and player preferences (``PROFILE_FIELDS`` only)."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({field: "This field cannot be changed here." for field in unknown})
    if "mobile" in changes:
        changes["mobile"] = normalise_mobile(changes["mobile"]) if changes["mobile"] else None
        if changes["mobile"] and User.objects.exclude(pk=user.pk).filter(mobile=changes["mobile"]).exists():
            raise ValidationError({"mobile": "An account with this mobile number already exists."})
    for field, value in changes.items():
        setattr(user, field, value)
    user.full_clean(exclude=["password", "id_document", "username", "email"], validate_unique=False)
    changed = [field for field in changes]
    if changed:
        user.save(update_fields=changed)
        trail.record(Event.PROFILE_CHANGE, target=user, fields=sorted(changed))
    return user


# --------------------------------------------------------------------------------------
# First administrator
# --------------------------------------------------------------------------------------
def admin_ensure(*, username: str, email: str, password: str | None) -> tuple[User | None, str | None]:
    """
    Create the first superuser if no superuser exists. Returns (user, password) where the
    password is the generated one to print once, or (None, None) when nothing was done.
    """
    if User.objects.filter(is_superuser=True).exists():
        return None, None
    generated = None
    if not password:
        generated = password = password_generate(20)
    with transaction.atomic():
        user = User.objects.create_superuser(
            username=username, email=email, password=password, full_name="Administrator"
        )
        user.groups.set(Group.objects.filter(name__in=roles.ROLES))
        trail.record(Event.ROLE_CHANGE, target=user, added=list(roles.ROLES), removed=[], via="admin_ensure")
    return user, generated
