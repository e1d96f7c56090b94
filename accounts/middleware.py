"""
Account state enforced on every page, and 429 pages for rate-limited HTML views.

A signed-in browser user who must change their password (expired, or an admin set a
temporary one) or whose role requires two-factor sign-in without a device may only reach
the pages that fix that. The API enforces the same rules in
:mod:`accounts.api.authentication`.
"""

from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django_otp import middleware as django_otp_middleware

from core.context import user_id_var

from .authentication import PROVIDER_MFA_SESSION_KEY
from .ratelimits import RateLimited

# Paths that stay reachable while an account is restricted.
_ALWAYS_ALLOWED_PREFIXES = ("/static/", "/terms/", "/privacy/", "/healthz", "/api/", "/accounts/logout/")


# What a user whose role requires a second factor may reach before they have one.
_ENROLMENT_PAGES = (
    "accounts:security",
    "accounts:reauth",
    "accounts:totp_setup",
    "accounts:email_otp_enable",
    "accounts:email_otp_verify",
    "accounts:sms_setup",
    "accounts:sms_verify",
)


def _allowed(path: str, *names: str) -> bool:
    if path.startswith(_ALWAYS_ALLOWED_PREFIXES):
        return True
    return any(path == reverse(name) for name in names)


class AccountStateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            # The API enforces the same rules in its authentication classes; skipping here
            # also keeps media requests (segments, images) free of any session lookup.
            return self.get_response(request)
        user = request.user
        if user.is_authenticated:
            user_id_var.set(user.pk)
            response = self._restrict(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _restrict(self, request, user):
        path = request.path
        if user.is_admin_locked:
            logout(request)
            messages.error(request, "Your account has been locked by an administrator.")
            return redirect("accounts:login")
        if user.otp_required or _has_devices(user):
            if _has_devices(user) and not user.is_verified():
                # A session that never passed the second factor (e.g. devices added elsewhere).
                logout(request)
                return redirect("accounts:login")
            if not _has_devices(user) and not user.is_verified() and not _allowed(path, *_ENROLMENT_PAGES):
                # (verified without a device: the OpenID provider did multi-factor, see OTPMiddleware)
                messages.warning(request, "Your role requires two-step verification. Set it up to continue.")
                return redirect("accounts:security")
        if user.needs_password_change and not _allowed(path, "accounts:password_change"):
            if user.must_change_password:
                messages.warning(request, "Please choose a new password before you continue.")
            else:
                messages.warning(request, "Your password has expired. Please choose a new one.")
            return redirect("accounts:password_change")
        return None


def _has_devices(user) -> bool:
    cached = getattr(user, "_has_otp_devices", None)
    if cached is None:
        from django_otp import user_has_device

        cached = user._has_otp_devices = user_has_device(user, confirmed=True)
    return cached


class OTPMiddleware(django_otp_middleware.OTPMiddleware):
    """
    django-otp's middleware (``request.user.otp_device``, ``is_verified()``), plus one case:
    a session whose OpenID Connect sign-in the provider did with multi-factor (``amr``/``acr``,
    accounts.oidc.provider_did_mfa) counts as verified, so every check of ``is_verified()`` —
    the pages, the admin site, the API's session — honours it and nobody is asked twice.
    """

    def _verify_user_sync(self, request, user):
        user = super()._verify_user_sync(request, user)
        if (
            user.is_authenticated
            and user.otp_device is None
            and request.session.get(PROVIDER_MFA_SESSION_KEY) == user.pk
        ):
            user.is_verified = lambda: True
        return user


class RateLimitMiddleware:
    """Renders a 429 page (with Retry-After) when an HTML view is over its rate limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            response = render(request, "errors/429.html", {"retry_after": exception.retry_after}, status=429)
            response["Retry-After"] = str(exception.retry_after)
            return response
        return None
