"""
The sign-in policy, shared by every door: the HTML login, the admin login (which is the
HTML login), the JWT token endpoint and the second-factor step.

    user = login_check(request=request, username=..., password=...)   # may raise LoginRefused
    if needs_second_factor(user): challenge = otp_begin(user) ... otp_verify(...)
    login_complete(request=request, user=user, device=device, session=True)

Failures are counted by django-axes (through Django's ``user_login_failed`` signal), so a
sixth attempt from one address is refused on every path, whichever path the first five used.
Guesses spread over many addresses meet the account-wide brake instead (``throttled``).

The signed-in security pages ask again for the password or a code before a second factor
is added or removed (:func:`reauthenticate`, :func:`reauth_fresh`).
"""

import math
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import (
    HASH_SESSION_KEY,
    authenticate,
    get_user_model,
    login,
    update_session_auth_hash,
    user_logged_in,
    user_login_failed,
)
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import trail
from audit.models import AuditEvent
from core.errors import Refused
from core.network import client_ip

from . import otp, services
from .backends import axes_username
from .models import BackupCodeDevice, EmailOTPDevice, SMSOTPDevice

Event = AuditEvent.Event

INVALID_CREDENTIALS = "Invalid username or password."
INVALID_CODE = "That code is not valid or has expired."
WRONG_PASSWORD = "That password is not correct."
_PENDING_SALT = "accounts.login.otp-pending"
# LoginRefused codes after which the client must wait (429 + Retry-After on every door):
# "locked" is the per-address lockout, "throttled" the account-wide brake.
LOCKOUT_CODES = frozenset({"locked", "throttled"})
REAUTH_SESSION_KEY = "accounts_reauth_at"
# The user id whose OpenID Connect sign-in the provider did with multi-factor (``amr``/``acr``):
# accounts.middleware.OTPMiddleware then counts the session as second-factor verified.
PROVIDER_MFA_SESSION_KEY = "accounts_provider_mfa"


# LoginRefused codes → HTTP status on the API (anything else: 403).
_STATUS = {
    "locked": 429,
    "throttled": 429,
    "otp_throttled": 429,
    "invalid_credentials": 401,
    "invalid_otp": 401,
    "otp_token_invalid": 401,
}


class LoginRefused(Refused):
    """A sign-in attempt that may not proceed; ``message`` is safe to show the user."""

    def __init__(self, message: str, code: str, retry_after: int | None = None):
        super().__init__(message, code=code, retry_after=retry_after)

    @property
    def status(self) -> int:
        return _STATUS.get(self.code, 403)


def _http_request(request):
    """The Django HttpRequest behind a DRF Request (axes marks the object it is given)."""
    return getattr(request, "_request", request)


def lockout_seconds(request, username: str) -> int | None:
    """Seconds until ``username`` may try again from this client, or None if not locked."""
    request = _http_request(request)
    credentials = {"username": username}
    if not settings.AXES_ENABLED or not AxesProxyHandler.is_locked(request, credentials):
        return None
    attempts = AccessAttempt.objects.filter(username=axes_username(request, credentials))
    if settings.AXES_LOCKOUT_PARAMETERS != ["username"]:
        attempts = attempts.filter(ip_address=client_ip(request))
    last = attempts.order_by("-attempt_time").values_list("attempt_time", flat=True).first()
    if last is None:
        return int(settings.AXES_COOLOFF_TIME.total_seconds())
    remaining = (last + settings.AXES_COOLOFF_TIME - timezone.now()).total_seconds()
    return max(1, math.ceil(remaining))


def _span(seconds: int) -> tuple[str, str]:
    """``seconds`` as "2 h 5 min" and the local date and time they end."""
    until = timezone.localtime(timezone.now() + timedelta(seconds=seconds))
    hours, rest = divmod(seconds, 3600)
    minutes = math.ceil(rest / 60)
    return (f"{hours} h {minutes} min" if hours else f"{minutes} min"), date_format(until, "DATETIME_FORMAT")


def locked_message(seconds: int) -> str:
    span, until = _span(seconds)
    return (
        f"Too many failed sign-in attempts: this account is locked on this computer for {span} "
        f"(until {until}). An administrator can unlock it sooner."
    )


def paused_message(seconds: int) -> str:
    span, until = _span(seconds)
    return (
        f"Too many failed sign-in attempts for this account, from several places: signing in to it is "
        f"paused for {span} (until {until}), even with the right password. An administrator can "
        f"unlock it sooner, and you can reset your password meanwhile."
    )


def _refuse_if_locked(request, username: str, user=None) -> None:
    seconds = lockout_seconds(request, username)
    if seconds is not None:
        raise LoginRefused(locked_message(seconds), "locked", retry_after=seconds)


# --------------------------------------------------------------------------------------
# The account-wide brake
# --------------------------------------------------------------------------------------
# Failures are counted in the audit trail rather than the shared cache or axes' rows: each
# wrong password or code is already one AuditEvent row with its time and account, so the
# count is an exact sliding window, the same in every process and node, with no update to
# lose (LocMem and the database cache do not increment atomically, django_ratelimit.E003)
# and nothing lost when Redis restarts; axes' AccessAttempt keeps only the last time per
# address and is reset by a successful sign-in. The rows are indexed by (target_user, time).
_BRAKE_FAILURES = Q(event=Event.LOGIN_FAILURE, detail__reason="invalid_credentials") | Q(event=Event.OTP_FAILURE)
# A pause ends after the cool-off, or sooner when an admin unlocks the account or its holder
# resets the password by e-mail; failures are counted afresh after any of these.
_BRAKE_MARKS = [Event.LOGIN_THROTTLED, Event.UNLOCK, Event.PASSWORD_RESET]


def _sign_in_events(username: str, user):
    """
    The audit rows of one sign-in name: its account's, or the typed name's when it has no
    account, so an unknown name is paused like a real one and the answer reveals nothing.
    """
    if user is not None:
        return AuditEvent.objects.filter(target_user=user)
    return AuditEvent.objects.filter(target_user=None, username__iexact=username)


def _last_brake_mark(events, since):
    """(event, time) of the latest pause, unlock or reset since ``since``, or None."""
    marks = events.filter(event__in=_BRAKE_MARKS, created_at__gte=since).order_by("-created_at")
    return marks.values_list("event", "created_at").first()


def _pause_left(mark, now) -> int | None:
    if mark is None or mark[0] != Event.LOGIN_THROTTLED:
        return None
    remaining = (mark[1] + settings.ACCOUNT_BRAKE_COOLOFF - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else None


def _pause_seconds(username: str, user=None) -> int | None:
    """Seconds until ``user`` (or a name with no account) may sign in again, or None if not paused."""
    if not settings.ACCOUNT_BRAKE_FAILURES:
        return None
    now = timezone.now()
    return _pause_left(_last_brake_mark(_sign_in_events(username, user), now - settings.ACCOUNT_BRAKE_COOLOFF), now)


def _refuse_if_paused(username: str, user) -> None:
    seconds = _pause_seconds(username, user)
    if seconds is not None:
        raise LoginRefused(paused_message(seconds), "throttled", retry_after=seconds)


def _brake_after_failure(username: str, user) -> None:
    """
    Count the failure just recorded for ``username``/``user``. At ``ACCOUNT_BRAKE_FAILURES``
    within ``ACCOUNT_BRAKE_WINDOW`` from any addresses, pause the account (one audit event,
    one e-mail to its holder) and raise ``LoginRefused("throttled")``.
    """
    limit = settings.ACCOUNT_BRAKE_FAILURES
    if not limit:
        return
    with transaction.atomic():
        if user is not None:
            # Failures racing to the limit queue here, so only one of them starts the pause.
            get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        events = _sign_in_events(username, user)
        now = timezone.now()
        window, cooloff = settings.ACCOUNT_BRAKE_WINDOW, settings.ACCOUNT_BRAKE_COOLOFF
        mark = _last_brake_mark(events, now - max(window, cooloff))
        seconds = _pause_left(mark, now)
        if seconds is None:
            since = max(now - window, mark[1]) if mark else now - window
            failures = events.filter(_BRAKE_FAILURES, created_at__gt=since)
            count = failures.count()
            if count < limit:
                return
            services.sign_in_pause(
                user=user,
                username=username,
                failures=count,
                addresses=failures.values("ip_address").distinct().count(),
            )
            seconds = math.ceil(cooloff.total_seconds())
    raise LoginRefused(paused_message(seconds), "throttled", retry_after=seconds)


def _count_failure(request, username: str) -> None:
    """Tell axes (and any other listener) that a sign-in step failed."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=_http_request(request))


def confirm_login_allowed(user) -> None:
    """Refuse accounts that may not sign in even with the right password."""
    if user.approval_status == user.Approval.PENDING:
        raise LoginRefused(
            "Your registration is awaiting approval by an administrator. You will get an e-mail when it is approved.",
            "pending_approval",
        )
    if user.approval_status == user.Approval.REJECTED:
        raise LoginRefused("Your registration was not approved. Contact an administrator.", "rejected")
    if not user.is_active:
        raise LoginRefused("This account has been deactivated. Contact an administrator.", "inactive")
    if user.is_admin_locked:
        until = date_format(timezone.localtime(user.locked_until), "DATETIME_FORMAT")
        raise LoginRefused(f"This account has been locked by an administrator until {until}.", "account_locked")


def login_check(*, request, username: str, password: str, directory: bool = True):
    """
    Check a username (or e-mail) and password for any sign-in path and return the user,
    or raise :class:`LoginRefused` (``locked``, ``invalid_credentials``, ``pending_approval``,
    ``rejected``, ``inactive`` or ``account_locked``; ``directory_unavailable`` when the LDAP
    server cannot be asked). ``directory=False`` (the API) never sends the password to the
    LDAP directory: directory accounts use personal API tokens there.
    """
    username = (username or "").strip()
    _refuse_if_locked(request, username)
    target = get_user_model().objects.by_login(username).first()
    # Before the password is checked, so a right one during a pause neither signs in nor
    # resets a counter.
    _refuse_if_paused(username, target)
    extra = {} if directory else {"directory": False}
    try:
        user = authenticate(_http_request(request), username=username, password=password, **extra)
    except LoginRefused as refused:  # the directory could not be asked, or its account may not be used here
        trail.record(Event.LOGIN_FAILURE, target=target, username=username, reason=refused.code)
        raise
    if user is None:
        with transaction.atomic():
            trail.record(Event.LOGIN_FAILURE, target=target, username=username, reason="invalid_credentials")
        _brake_after_failure(username, target)
        seconds = lockout_seconds(request, username)
        if seconds is not None:
            trail.record(Event.LOCKOUT, target=target, username=username)
            raise LoginRefused(locked_message(seconds), "locked", retry_after=seconds)
        raise LoginRefused(INVALID_CREDENTIALS, "invalid_credentials")
    try:
        confirm_login_allowed(user)
    except LoginRefused as refused:
        trail.record(Event.LOGIN_FAILURE, target=user, username=username, reason=refused.code)
        raise
    return user


def confirmed_devices(user) -> list:
    return list(devices_for_user(user, confirmed=True))


def needs_second_factor(user) -> bool:
    return bool(confirmed_devices(user))


def otp_methods(user) -> list[str]:
    """Names of the second factors ``user`` can answer with: totp, email, sms, backup."""
    kinds = {TOTPDevice: "totp", EmailOTPDevice: "email", SMSOTPDevice: "sms", BackupCodeDevice: "backup"}
    return sorted({kinds.get(type(device), "other") for device in confirmed_devices(user)})


def otp_begin(user, method: str | None = None) -> str:
    """
    Start the second-factor step: send a code by e-mail or SMS when that is the way the
    user answers (``method``, or the only way they have). Returns a message for the user.
    """
    devices = confirmed_devices(user)
    side_channel = [d for d in devices if isinstance(d, (EmailOTPDevice, SMSOTPDevice))]
    has_app = any(isinstance(d, TOTPDevice) for d in devices)
    wanted = {"email": EmailOTPDevice, "sms": SMSOTPDevice}.get(method or "")
    if wanted is not None:
        side_channel = [d for d in side_channel if isinstance(d, wanted)]
        if side_channel:
            return otp.challenge_send(side_channel[0])
    if side_channel and not has_app:
        return otp.challenge_send(side_channel[0])
    return "Enter the 6-digit code from your authenticator app, or one of your backup codes."


def pending_token(user) -> str:
    """A short-lived signed ticket saying the password step succeeded for ``user``."""
    return signing.dumps({"uid": user.pk, "stamp": user.security_stamp()}, salt=_PENDING_SALT, compress=True)


def pending_user(token: str):
    """The user a pending ticket was issued to, or raise LoginRefused if it is bad or stale."""
    try:
        data = signing.loads(token or "", salt=_PENDING_SALT, max_age=settings.OTP_PENDING_LOGIN_SECONDS)
    except signing.BadSignature:
        raise LoginRefused("The sign-in has expired. Please enter your password again.", "otp_token_invalid") from None
    user = get_user_model().objects.filter(pk=data.get("uid")).first()
    if user is None or user.security_stamp() != data.get("stamp"):
        raise LoginRefused("The sign-in has expired. Please enter your password again.", "otp_token_invalid")
    return user


def otp_verify(*, request, user, code: str):
    """
    Check ``code`` against every confirmed device of ``user`` and return the device that
    accepted it. Codes are single-use (TOTP remembers the last time step, side-channel
    and backup codes are deleted). A failure counts towards the lockout like a wrong password.
    """
    _refuse_if_locked(request, user.username, user)
    _refuse_if_paused(user.username, user)
    confirm_login_allowed(user)
    code = (code or "").strip()
    throttled = False
    if code and len(code) <= 32:
        # django-otp: "Verifying OTP tokens should always take place inside a transaction".
        with transaction.atomic():
            devices = list(devices_for_user(user, confirmed=True, for_verify=True))
            for device in devices:
                allowed, _ = device.verify_is_allowed()
                if not allowed:
                    throttled = True
                    continue
                if device.verify_token(code):
                    # The code was tried on the user's other devices first; that proved
                    # possession, not guessing, so their failure counters start afresh.
                    for other in devices:
                        if other is not device and getattr(other, "throttling_failure_count", 0):
                            other.throttle_reset()
                    return device
    _count_failure(request, user.username)
    with transaction.atomic():
        trail.record(Event.OTP_FAILURE, target=user, username=user.username)
    _brake_after_failure(user.username, user)
    seconds = lockout_seconds(request, user.username)
    if seconds is not None:
        trail.record(Event.LOCKOUT, target=user, username=user.username)
        raise LoginRefused(locked_message(seconds), "locked", retry_after=seconds)
    if throttled:
        raise LoginRefused("Too many wrong codes. Wait a few seconds and try again.", "otp_throttled", retry_after=2)
    raise LoginRefused(INVALID_CODE, "invalid_otp")


def login_complete(
    *, request, user, device=None, session: bool, method: str, provider_mfa: bool = False, fresh: bool = True
):
    """
    Finish a successful sign-in. With ``session`` the browser gets a session (marked
    second-factor verified when ``device`` is given, or ``provider_mfa`` says the OpenID
    provider did multi-factor; and freshly re-authenticated unless ``fresh`` is False, so a
    first second factor can be set up at once); otherwise (JWT) only the signal runs, which
    resets the axes counter and updates ``last_login``.
    """
    http_request = _http_request(request)
    if session:
        login(http_request, user, backend="accounts.backends.UsernameOrEmailBackend")
        if device is not None:
            otp_login(http_request, device)
        elif provider_mfa:
            http_request.session[PROVIDER_MFA_SESSION_KEY] = user.pk
        if fresh:
            reauth_mark(http_request)
    else:
        user_logged_in.send(sender=user.__class__, request=http_request, user=user)
    extra = {"provider_mfa": True} if provider_mfa and device is None else {}
    trail.record(
        Event.LOGIN_SUCCESS,
        actor=user,
        target=user,
        method=method,
        second_factor=bool(device) or bool(extra),
        **extra,
    )


def sso_login_failed(*, code: str, user=None) -> None:
    """Record an OpenID Connect sign-in that did not complete (``code`` says why)."""
    trail.record(Event.LOGIN_FAILURE, target=user, username=user.username if user else "", reason=code, method="oidc")


def api_token_check(*, request, secret: str):
    """
    The (user, token) of a personal API token, or raise :class:`LoginRefused`: unknown, revoked
    or expired tokens (``invalid_credentials``, audited), and accounts that may not sign in.
    Tokens have 256 random bits; the login rate limit bounds the tries.
    """
    from .models import PersonalToken, api_token_digest

    secret = (secret or "").strip()
    token = None
    if secret.startswith(PersonalToken.PREFIX) and len(secret) < 200:
        token = PersonalToken.objects.usable().select_related("user").filter(digest=api_token_digest(secret)).first()
    if token is None:
        trail.record(Event.LOGIN_FAILURE, reason="invalid_api_token")
        raise LoginRefused("That API token is not valid, has expired or was revoked.", "invalid_credentials")
    user = token.user
    try:
        confirm_login_allowed(user)
    except LoginRefused as refused:
        trail.record(Event.LOGIN_FAILURE, target=user, username=user.username, reason=refused.code, method="api_token")
        raise
    PersonalToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return user, token


def session_keep(request, user) -> None:
    """
    Keep this browser signed in after a service ended ``user``'s sessions (a password change,
    a first second factor): its session takes the new hash (and a new key); every other
    session stays ended. Nothing happens when the hash did not change.
    """
    http_request = _http_request(request)
    if http_request.session.get(HASH_SESSION_KEY) != user.get_session_auth_hash():
        update_session_auth_hash(http_request, user)


# --------------------------------------------------------------------------------------
# Re-authentication of a signed-in session
# --------------------------------------------------------------------------------------
def reauth_mark(request) -> None:
    """Note in the session that its user has just proved who they are."""
    _http_request(request).session[REAUTH_SESSION_KEY] = timezone.now().timestamp()


def reauth_fresh(request) -> bool:
    """Whether the session's user proved who they are within the last ``REAUTH_SECONDS``."""
    at = _http_request(request).session.get(REAUTH_SESSION_KEY)
    return isinstance(at, int | float) and 0 <= timezone.now().timestamp() - at <= settings.REAUTH_SECONDS


def reauthenticate(*, request, user, password: str = "", code: str = "") -> None:
    """
    Check that the signed-in ``user`` is still the one at the keyboard, by their password or
    (given ``code``) a code from one of their second factors, and mark the session fresh.
    A failure counts like a failed sign-in (lockout, brake, audit), so a stolen session
    cannot be used to guess the password. Raises :class:`LoginRefused`.
    """
    if code:
        otp_verify(request=request, user=user, code=code)
    else:
        try:
            checked = login_check(request=request, username=user.username, password=password)
        except LoginRefused as refused:
            if refused.code == "invalid_credentials":
                raise LoginRefused(WRONG_PASSWORD, refused.code) from None
            raise
        if checked.pk != user.pk:  # a username is never another account's e-mail; be sure
            raise LoginRefused(WRONG_PASSWORD, "invalid_credentials")
    reauth_mark(request)
