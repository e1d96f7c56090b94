"""
HTML pages for accounts. Each view validates a form, calls the shared sign-in policy
(:mod:`accounts.authentication`) or a service, and renders; no rule lives here.
"""

import logging
from functools import wraps
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from audit.models import AuditEvent
from core.redirects import safe_next

from . import authentication, oidc, otp, ratelimits, services
from .authentication import LoginRefused
from .forms import (
    ApiTokenForm,
    LoginForm,
    OTPForm,
    PasswordChangeForm,
    PasswordResetForm,
    PreferencesForm,
    ReauthForm,
    RegistrationForm,
    SetPasswordForm,
    SMSDeviceForm,
)
from .models import BackupCodeDevice, EmailOTPDevice, SMSOTPDevice
from .validators import normalise_mobile

logger = logging.getLogger(__name__)
_PENDING_SESSION_KEY = "accounts_otp_pending"
_NEXT_SESSION_KEY = "accounts_login_next"
_METHOD_SESSION_KEY = "accounts_login_method"


def _home() -> str:
    return reverse(settings.LOGIN_REDIRECT_URL)


def _posted(request):
    """The POST data for a POST (even an empty one, so its errors show), else None (unbound)."""
    return request.POST if request.method == "POST" else None


def _locked_response(request, refused: LoginRefused):
    response = render(
        request, "accounts/locked.html", {"message": refused.message, "retry_after": refused.retry_after}, status=429
    )
    response["Retry-After"] = str(refused.retry_after)
    return response


def lockout_response(request, original_response=None, credentials=None):
    """
    django-axes' lockout callable (``AXES_LOCKOUT_CALLABLE``): the same answer whichever
    door was used — JSON 429 for the API, the locked page for browsers.
    """
    from django.http import JsonResponse

    username = (credentials or {}).get("username") or request.POST.get("username", "")
    seconds = authentication.lockout_seconds(request, username) or int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = authentication.locked_message(seconds)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": "locked"}, status=429)
        response["Retry-After"] = str(seconds)
        return response
    return _locked_response(request, LoginRefused(message, "locked", retry_after=seconds))


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    """Step one of sign-in: username or e-mail and password (also the admin's login)."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(safe_next(request, next_url, fallback=_home()))
    form = LoginForm(_posted(request))
    if request.method == "POST":
        ratelimits.check(request, "login")
        if form.is_valid():
            try:
                user = authentication.login_check(
                    request=request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
                )
            except LoginRefused as refused:
                if refused.code in authentication.LOCKOUT_CODES:
                    return _locked_response(request, refused)
                form.add_error(None, refused.message)
            else:
                # Django notes which backend vouched: the directory's, or the local password's.
                directory = getattr(user, "backend", "") == "accounts.directory.DirectoryBackend"
                return _sign_in(request, user, next_url, method="directory" if directory else "password")
    return render(request, "accounts/login.html", {"form": form, "next": next_url, **_sign_in_options(request)})


def _sign_in_options(request) -> dict:
    """What the sign-in page offers: the OpenID provider's button, and the password form unless
    only the provider signs people in (LOCAL_LOGIN=False without LDAP; ``?local=1`` shows the
    form for the break-glass superusers)."""
    oidc = settings.OIDC_ENABLED
    password_form = not oidc or settings.LOCAL_LOGIN or settings.LDAP_ENABLED or request.GET.get("local") == "1"
    return {
        "oidc_enabled": oidc,
        "oidc_provider_name": settings.OIDC_PROVIDER_NAME,
        "password_form": password_form or request.method == "POST",
        "local_login": settings.LOCAL_LOGIN,
        "directory_login": settings.LDAP_ENABLED,
    }


def _sign_in(request, user, next_url: str, *, method: str, provider_mfa: bool = False, fresh: bool = True):
    """
    After the first step (a password, or the OpenID provider): our second factor when the
    account has one and the provider did not do multi-factor, otherwise the session.
    """
    if not provider_mfa and authentication.needs_second_factor(user):
        request.session.cycle_key()
        request.session[_PENDING_SESSION_KEY] = authentication.pending_token(user)
        request.session[_NEXT_SESSION_KEY] = next_url
        request.session[_METHOD_SESSION_KEY] = method
        messages.info(request, authentication.otp_begin(user))
        return redirect("accounts:login_otp")
    authentication.login_complete(
        request=request, user=user, session=True, method=method, provider_mfa=provider_mfa, fresh=fresh
    )
    return HttpResponseRedirect(safe_next(request, next_url, fallback=_home()))


def _pending_login_user(request):
    try:
        return authentication.pending_user(request.session.get(_PENDING_SESSION_KEY, ""))
    except LoginRefused as refused:
        request.session.pop(_PENDING_SESSION_KEY, None)
        messages.error(request, refused.message)
        return None


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_otp_view(request):
    """Step two of sign-in: the second factor."""
    user = _pending_login_user(request)
    if user is None:
        return redirect("accounts:login")
    form = OTPForm(_posted(request))
    if request.method == "POST":
        ratelimits.check(request, "otp")
        if form.is_valid():
            try:
                device = authentication.otp_verify(request=request, user=user, code=form.cleaned_data["code"])
            except LoginRefused as refused:
                if refused.code in authentication.LOCKOUT_CODES:
                    request.session.pop(_PENDING_SESSION_KEY, None)
                    return _locked_response(request, refused)
                form.add_error("code", refused.message)
            else:
                next_url = request.session.pop(_NEXT_SESSION_KEY, "")
                first_step = request.session.pop(_METHOD_SESSION_KEY, "password")
                request.session.pop(_PENDING_SESSION_KEY, None)
                authentication.login_complete(
                    request=request, user=user, device=device, session=True, method=f"{first_step}+otp"
                )
                return HttpResponseRedirect(safe_next(request, next_url, fallback=_home()))
    return render(
        request,
        "accounts/login_otp.html",
        {"form": form, "methods": authentication.otp_methods(user), "message": ""},
    )


@require_POST
@csrf_protect
def login_otp_resend(request):
    """Send a new e-mail or SMS code during step two."""
    user = _pending_login_user(request)
    if user is None:
        return redirect("accounts:login")
    ratelimits.check(request, "otp")
    messages.info(request, authentication.otp_begin(user, method=request.POST.get("method")))
    return redirect("accounts:login_otp")


@require_POST
def logout_view(request):
    """Sign out here and, when the session came from an OpenID provider that offers it, there too."""
    provider_logout = None
    if request.user.is_authenticated:
        from audit import trail

        trail.record(AuditEvent.Event.LOGOUT, target=request.user)
        provider_logout = oidc.logout_url(request)
    logout(request)
    if provider_logout:
        return HttpResponseRedirect(provider_logout)
    messages.success(request, "You have signed out.")
    return redirect("accounts:login")


# --------------------------------------------------------------------------------------
# OpenID Connect: mozilla-django-oidc speaks the protocol; the sign-in policy decides
# --------------------------------------------------------------------------------------
class OIDCLoginView(OIDCAuthenticationRequestView):
    """Start the code flow (with PKCE and a nonce); ``?reauth=1`` asks the provider for the password again."""

    def get_extra_params(self, request):
        return {"prompt": "login"} if request.GET.get("reauth") == "1" else {}


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    """
    The provider's answer. The library checks state, nonce and PKCE and exchanges the code;
    accounts.oidc verifies the ID token and accounts.sso brings the account up to date; then
    the same policy as a password sign-in: refusals, our second factor unless the provider did
    multi-factor, the audit trail.
    """

    def get(self, request):
        ratelimits.check(request, "login", methods=("GET",))
        try:
            return super().get(request)
        except LoginRefused as refused:  # a local account's name, or one that may not sign in
            authentication.sso_login_failed(code=refused.code, user=getattr(self, "user", None))
            return self._refused(refused.message)
        except SuspiciousOperation as error:  # state, nonce or token checks (accounts.oidc.TokenRejected)
            logger.warning("OpenID Connect sign-in refused: %s", error)
            authentication.sso_login_failed(code="oidc_rejected")
            return self._refused(f"Signing in with {settings.OIDC_PROVIDER_NAME} failed: {_reason(error)}.")
        except requests.RequestException as error:  # provider unreachable, TLS certificate, HTTP error
            logger.error("OpenID Connect provider error: %s", error)
            authentication.sso_login_failed(code="oidc_unavailable")
            return self._refused(
                f"{settings.OIDC_PROVIDER_NAME} could not be reached to finish signing in. Try again in a few "
                "minutes; if this persists, tell IT."
            )

    def _refused(self, message: str):
        messages.error(self.request, message)
        return redirect("accounts:login")

    def login_failure(self):
        user = getattr(self, "user", None)
        if user is not None:  # the provider vouched for an account that may not sign in here
            authentication.confirm_login_allowed(user)
        error = self.request.GET.get("error_description") or self.request.GET.get("error")
        authentication.sso_login_failed(code="oidc_error")
        detail = f" The provider said: {error[:200]}" if error else ""
        return self._refused(f"Signing in with {settings.OIDC_PROVIDER_NAME} did not complete.{detail}")

    def login_success(self):
        user, claims = self.user, getattr(self.user, "sso_claims", {})
        authentication.confirm_login_allowed(user)
        next_url = self.request.session.pop("oidc_login_next", None) or ""
        return _sign_in(
            self.request,
            user,
            next_url,
            method="oidc",
            provider_mfa=oidc.provider_did_mfa(claims),
            fresh=oidc.recently_authenticated(claims),
        )


def _reason(error) -> str:
    text = str(error)
    return text if isinstance(error, oidc.TokenRejected) else "the answer could not be verified"


@sensitive_post_parameters("password1", "password2")
@csrf_protect
def register_view(request):
    if request.user.is_authenticated:
        return redirect("home")
    if not settings.REGISTRATION_OPEN:
        raise PermissionDenied("Self-registration is closed.")
    form = RegistrationForm(_posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST":
        ratelimits.check(request, "register")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.user_register(
                    username=data["username"],
                    email=data["email"],
                    password=data["password1"],
                    full_name=data["full_name"],
                    employee_id=data["employee_id"],
                    mobile=data["mobile"],
                    user_type=data["user_type"],
                    id_document=data.get("id_document") or None,
                )
            except ValidationError as error:
                if hasattr(error, "error_dict") and "password" in error.error_dict:
                    error.error_dict["password1"] = error.error_dict.pop("password")
                form.add_service_errors(error)
            else:
                return redirect("accounts:register_done")
    return render(request, "accounts/register.html", {"form": form})


def register_done_view(request):
    return render(request, "accounts/register_done.html")


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@csrf_protect
@login_required
def password_change_view(request):
    user = request.user
    form = PasswordChangeForm(_posted(request))
    if request.method == "POST":
        ratelimits.check(request, "password_change")
        if form.is_valid():
            try:
                services.password_change(
                    user=user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password1"],
                )
            except ValidationError as error:
                if hasattr(error, "error_dict") and "new_password" in error.error_dict:
                    error.error_dict["new_password1"] = error.error_dict.pop("new_password")
                form.add_service_errors(error)
            else:
                authentication.session_keep(request, user)
                messages.success(request, "Your password has been changed. Other sessions have been signed out.")
                return redirect("accounts:profile")
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "forced": user.must_change_password, "expired": user.password_expired},
    )


@csrf_protect
def password_reset_view(request):
    form = PasswordResetForm(_posted(request))
    if request.method == "POST":
        ratelimits.check(request, "password_reset")
        if form.is_valid():
            services.password_reset_request(email=form.cleaned_data["email"])
            # The same answer whether or not the address belongs to an account.
            return redirect("accounts:password_reset_done")
    return render(request, "accounts/password_reset.html", {"form": form})


def password_reset_done_view(request):
    return render(request, "accounts/password_reset_sent.html")


@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@never_cache
def password_reset_confirm_view(request, uidb64, token):
    # Every POST counts, valid link or not, so guessing links is limited too.
    ratelimits.check(request, "password_reset")
    validlink = services.password_reset_user(uidb64=uidb64, token=token) is not None
    form = SetPasswordForm(_posted(request))
    if request.method == "POST" and validlink and form.is_valid():
        try:
            services.password_reset_confirm(uidb64=uidb64, token=token, new_password=form.cleaned_data["new_password1"])
        except ValidationError as error:
            if hasattr(error, "error_dict") and "new_password" in error.error_dict:
                error.error_dict["new_password1"] = error.error_dict.pop("new_password")
            form.add_service_errors(error)
        else:
            messages.success(request, "Your password has been reset. You can sign in now.")
            return redirect("accounts:login")
    return render(request, "accounts/password_reset_confirm.html", {"form": form, "validlink": validlink})


def _device_kind(device) -> str:
    return {TOTPDevice: "totp", EmailOTPDevice: "email", SMSOTPDevice: "sms", BackupCodeDevice: "backup"}.get(
        type(device), "other"
    )


# The names new devices are given (accounts/otp.py): the kind's label already says them.
_DEFAULT_DEVICE_NAMES = {"authenticator app", "e-mail codes", "sms codes", "email", "sms"}


def _device_rows(user) -> list[dict]:
    """A row per confirmed second factor; ``name`` is empty when it would only repeat the kind."""
    return [
        {
            "name": "" if d.name.strip().casefold() in _DEFAULT_DEVICE_NAMES else d.name,
            "kind": _device_kind(d),
            "persistent_id": d.persistent_id,
            "confirmed": d.confirmed,
        }
        for d in devices_for_user(user, confirmed=True)
        if not isinstance(d, BackupCodeDevice)
    ]


@login_required
def profile_view(request):
    return render(
        request,
        "accounts/profile.html",
        {"user": request.user, "roles": request.user.roles, "devices": _device_rows(request.user)},
    )


@login_required
def settings_view(request):
    user = request.user
    form = PreferencesForm(_posted(request), instance=user)
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        try:
            services.profile_update(user=user, **changes)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Your settings have been saved.")
            return redirect("accounts:settings")
    return render(request, "accounts/settings.html", {"form": form})


@login_required
def security_view(request, backup_codes=None, new_api_token=None, api_token_form=None):
    user = request.user
    backup = BackupCodeDevice.objects.filter(user=user).first()
    devices = _device_rows(user)
    return render(
        request,
        "accounts/security.html",
        {
            "api_tokens_enabled": settings.API_TOKENS_ENABLED,
            "api_tokens": list(user.personal_tokens.usable()) if settings.API_TOKENS_ENABLED else [],
            "new_api_token": new_api_token,
            "api_token_form": api_token_form or ApiTokenForm(),
            "provider_mfa": user.is_verified() and not devices,
            "devices": devices,
            "otp_required": user.otp_required,
            "has_totp": any(d["kind"] == "totp" for d in devices),
            "has_email": any(d["kind"] == "email" for d in devices),
            "backup_remaining": backup.codes.count() if backup else None,
            "backup_codes": backup_codes or [],
            "sms_available": True,
        },
    )


def _enrolment_done(request, device, codes: list[str], message: str):
    """
    After a new second factor proved itself: this browser stays signed in (a first factor
    ended every other session) and counts as verified by it; show the new backup codes.
    """
    authentication.session_keep(request, request.user)
    if not request.user.is_verified():
        device.refresh_from_db()
        otp_login(request, device)
    messages.success(request, message)
    return security_view(request, backup_codes=codes)


def _reauth_url(next_url: str) -> str:
    return f"{reverse('accounts:reauth')}?{urlencode({'next': next_url})}"


def reauth_required(view):
    """
    Adding or removing a second factor, or renewing backup codes, needs the password or a
    code entered within ``REAUTH_SECONDS``, not a session alone: otherwise ask for it, then
    come back (to the page; after a POST, to the security page to choose again).
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if authentication.reauth_fresh(request):
            return view(request, *args, **kwargs)
        if request.method == "GET":
            return redirect(_reauth_url(request.get_full_path()))
        messages.info(request, "Confirm it is you, then choose again.")
        return redirect(_reauth_url(reverse("accounts:security")))

    return wrapper


@sensitive_post_parameters("password", "code")
@csrf_protect
@never_cache
@login_required
def reauth_view(request):
    """Prove again who you are (password, or a code from a second factor) before changing them."""
    user = request.user
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    methods = authentication.otp_methods(user)
    posted = _posted(request) or {}
    password_form = ReauthForm(posted if "password" in posted else None)
    code_form = OTPForm(posted if "code" in posted else None) if methods else None
    if code_form is not None:
        code_form.fields["code"].widget.attrs.pop("autofocus", None)
    if request.method == "POST":
        if "method" in posted:  # send a code by e-mail or SMS
            ratelimits.check(request, "otp")
            messages.info(request, authentication.otp_begin(user, method=posted["method"]))
            return redirect(_reauth_url(next_url))
        form, field, group = (code_form, "code", "otp") if "code" in posted else (password_form, "password", "login")
        ratelimits.check(request, group)
        if form is not None and form.is_valid():
            try:
                authentication.reauthenticate(request=request, user=user, **form.cleaned_data)
            except LoginRefused as refused:
                if refused.code in authentication.LOCKOUT_CODES:
                    logout(request)
                    return _locked_response(request, refused)
                form.add_error(field, refused.message)
            else:
                return HttpResponseRedirect(
                    safe_next(request, next_url or reverse("accounts:security"), fallback=_home())
                )
    return render(
        request,
        "accounts/reauth.html",
        {
            "password_form": password_form if user.has_usable_password() or settings.LDAP_ENABLED else None,
            "code_form": code_form,
            "methods": methods,
            "next": next_url,
            "minutes": max(1, settings.REAUTH_SECONDS // 60),
            "oidc_reauth": settings.OIDC_ENABLED and user.external_identities.filter(provider="oidc").exists(),
            "oidc_provider_name": settings.OIDC_PROVIDER_NAME,
        },
    )


@sensitive_post_parameters("code")
@login_required
@reauth_required
def totp_setup_view(request):
    user = request.user
    device = otp.totp_start(user)
    form = OTPForm(_posted(request))
    form.fields["code"].help_text = "The 6-digit code your app shows now."
    if request.method == "POST":
        ratelimits.check(request, "otp")
        if form.is_valid():
            codes = otp.totp_confirm(user=user, device=device, code=form.cleaned_data["code"])
            if codes is None:
                form.add_error("code", "That code is not right. Check the time on your phone and try again.")
            else:
                return _enrolment_done(request, device, codes, "Your authenticator app is set up.")
    return render(
        request,
        "accounts/totp_setup.html",
        {"qr_svg": otp.totp_qr_svg(device), "secret": otp.totp_secret_base32(device), "form": form},
    )


@require_POST
@login_required
@reauth_required
def email_otp_enable_view(request):
    """Start adding e-mail codes: a code goes to the account's address, to be entered next."""
    ratelimits.check(request, "otp")
    device = otp.email_device_add(user=request.user)
    if device.confirmed:
        messages.info(request, f"Sign-in codes already go to {request.user.email}.")
        return redirect("accounts:security")
    messages.info(request, otp.challenge_send(device))
    return redirect("accounts:email_otp_verify")


@login_required
@reauth_required
def sms_setup_view(request):
    """Start adding SMS codes: a code goes to the number given, to be entered next."""
    form = SMSDeviceForm(_posted(request), initial={"number": request.user.mobile or ""})
    if request.method == "POST" and form.is_valid():
        try:
            number = normalise_mobile(form.cleaned_data["number"])
        except ValidationError as error:
            form.add_error("number", error)
        else:
            ratelimits.check(request, "otp")
            device = otp.sms_device_add(user=request.user, number=number)
            messages.info(request, otp.challenge_send(device))
            return redirect("accounts:sms_verify")
    return render(request, "accounts/sms_setup.html", {"form": form})


_CODE_DEVICES = {"email": EmailOTPDevice, "sms": SMSOTPDevice}


@sensitive_post_parameters("code")
@login_required
@reauth_required
def code_device_verify_view(request, kind: str):
    """Second step of adding e-mail or SMS codes: the code just sent proves the address or number."""
    device = _CODE_DEVICES[kind].objects.filter(user=request.user, confirmed=False).order_by("-pk").first()
    if device is None:
        return redirect("accounts:security")
    posted = _posted(request) or {}
    form = OTPForm(posted if "code" in posted else None)
    form.fields["code"].help_text = "The 6-digit code we have just sent. It works once, for a few minutes."
    if request.method == "POST":
        ratelimits.check(request, "otp")
        if "resend" in posted:
            messages.info(request, otp.challenge_send(device))
            return redirect(request.path)
        if form.is_valid():
            codes = otp.code_device_confirm(user=request.user, device=device, code=form.cleaned_data["code"])
            if codes is None:
                form.add_error(
                    "code",
                    "That code is not right or has expired. Wait a few seconds and try again, or send a new one.",
                )
            else:
                where = "to your e-mail address" if kind == "email" else "to your mobile by SMS"
                return _enrolment_done(request, device, codes, f"Sign-in codes will now be sent {where}.")
    destination = request.user.email if kind == "email" else device.number
    return render(request, "accounts/code_device_verify.html", {"form": form, "kind": kind, "destination": destination})


@require_POST
@login_required
@reauth_required
def backup_codes_view(request):
    if not authentication.needs_second_factor(request.user):
        messages.error(request, "Set up an authenticator app or e-mail codes first.")
        return redirect("accounts:security")
    codes = otp.backup_codes_regenerate(user=request.user)
    messages.success(request, "New backup codes created. The old ones no longer work.")
    return security_view(request, backup_codes=codes)


@require_POST
@login_required
@reauth_required
def device_remove_view(request):
    try:
        removed = otp.device_remove(user=request.user, persistent_id=request.POST.get("device", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if removed:
            messages.success(request, "The sign-in method was removed.")
        else:
            messages.error(request, "That sign-in method was not found.")
    return redirect("accounts:security")


# --------------------------------------------------------------------------------------
# Personal API tokens (the API door of SSO and directory accounts)
# --------------------------------------------------------------------------------------
@require_POST
@login_required
@reauth_required
def api_token_create_view(request):
    """Create a personal API token; its secret is shown on the page this once."""
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            _token, secret = services.api_token_create(
                user=request.user, name=form.cleaned_data["name"], second_factor=request.user.is_verified()
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Your API token is ready. Copy it now: it is shown only once.")
            return security_view(request, new_api_token=secret)
    return security_view(request, api_token_form=form)


@require_POST
@login_required
def api_token_revoke_view(request):
    if services.api_token_revoke(actor=request.user, user=request.user, token_id=request.POST.get("token")):
        messages.success(request, "The API token was revoked.")
    else:
        messages.error(request, "That API token was not found.")
    return redirect("accounts:security")


def csrf_failure(request, reason=""):
    return render(request, "errors/403_csrf.html", status=403)
