"""
DRF authentication for the API: JWT (simplejwt) and the browser session, both refusing
accounts whose state forbids access, so no endpoint can forget to check.

A JWT carries ``stamp`` (see ``User.security_stamp``): a password change, deactivation,
role change, lock or revocation changes the stamp and every issued token stops working.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework_simplejwt import authentication as jwt_authentication

from core.context import user_id_var


class AccountRestricted(exceptions.PermissionDenied):
    pass


def enforce_account_state(request, user, *, otp_verified: bool) -> None:
    """
    Refuse users who must first change their password or set up a second factor, except
    on views that exist to let them do so (``allow_restricted_account = True``).
    """
    user_id_var.set(user.pk)
    view = (getattr(request, "parser_context", None) or {}).get("view")
    allowed = getattr(view, "allow_restricted_account", False)
    if allowed is True or (allowed and request.method in allowed):
        return
    if user.needs_password_change:
        raise AccountRestricted(
            {"detail": "You must change your password before using the API.", "code": "password_change_required"}
        )
    if user.otp_required and not otp_verified:
        raise AccountRestricted(
            {
                "detail": "Your role requires two-step verification. Set it up, then sign in again.",
                "code": "otp_required",
            }
        )


class JWTAuthentication(jwt_authentication.JWTAuthentication):
    def get_user(self, validated_token):
        user = super().get_user(validated_token)  # 401 if missing or inactive
        if validated_token.get("stamp") != user.security_stamp():
            raise exceptions.AuthenticationFailed(
                _("This token has been revoked. Sign in again."), code="token_revoked"
            )
        if user.is_admin_locked or not user.is_approved:
            raise exceptions.AuthenticationFailed(_("This account is locked."), code="account_locked")
        return user

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user, token = result
            enforce_account_state(request, user, otp_verified=bool(token.get("otp")))
        return result


class SessionAuthentication(authentication.SessionAuthentication):
    """
    The browser's session (CSRF-checked by DRF for unsafe methods). AccountStateMiddleware
    skips /api/, so the account checks of the pages are repeated here: an admin lock ends
    API access like it ends the pages (sessions of a user who turned on two-step sign-in
    elsewhere are ended by ``User._get_session_auth_hash``).
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user = result[0]
            if user.is_admin_locked or not user.is_approved:
                raise exceptions.AuthenticationFailed(_("This account is locked."), code="account_locked")
            verified = user.is_verified() if hasattr(user, "is_verified") else False
            enforce_account_state(request, user, otp_verified=verified)
        return result
