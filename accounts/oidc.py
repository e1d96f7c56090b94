"""
OpenID Connect sign-in (authorization code flow with PKCE) through mozilla-django-oidc.

The library speaks the protocol (state, nonce, PKCE verifier, token exchange, JWKS); this
module makes its checks stricter (audience, issuer, clock skew with a clear reason) and hands
the verified identity to :mod:`accounts.sso`, which owns every rule about accounts and roles.
The pages (start, callback) are in :mod:`accounts.views`; what they do after the provider
vouched for someone is the shared sign-in policy (:mod:`accounts.authentication`).
"""

import logging
import time
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from . import sso
from .models import ExternalIdentity

logger = logging.getLogger(__name__)

PROVIDER = ExternalIdentity.Provider.OIDC


class TokenRejected(SuspiciousOperation):
    """The provider's ID token failed a check; ``str()`` says which, for the log and the person."""


def provider_did_mfa(claims: dict) -> bool:
    """
    Whether the provider says this sign-in used more than a password: an ``amr`` value in
    ``OIDC_MFA_AMR`` (RFC 8176: mfa, otp, hwk…) or an ``acr`` in ``OIDC_MFA_ACR``. Read from
    the verified ID token only.
    """
    amr = claims.get("amr") or []
    if isinstance(amr, str):
        amr = amr.split()
    wanted_amr = {value.lower() for value in settings.OIDC_MFA_AMR}
    if wanted_amr.intersection(str(value).lower() for value in amr):
        return True
    acr = str(claims.get("acr") or "")
    return bool(acr) and acr in set(settings.OIDC_MFA_ACR)


def recently_authenticated(claims: dict) -> bool:
    """Whether the person typed their credentials at the provider within ``REAUTH_SECONDS`` (``auth_time``)."""
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float):
        return True  # providers that do not say are taken at their word that they just signed in
    return time.time() - auth_time <= settings.REAUTH_SECONDS + settings.OIDC_CLOCK_SKEW_SECONDS


def groups_of(claims: dict) -> list[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


class OIDCBackend(OIDCAuthenticationBackend):
    """
    Authenticates the callback of the code flow (and nothing else: a password sign-in never
    reaches the provider). Users are matched by ``sub`` through :mod:`accounts.sso`.
    """

    def authenticate(self, request, **kwargs):
        if not settings.OIDC_ENABLED or "nonce" not in kwargs or "username" in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload, key):
        """The library's check plus audience, issuer and a bounded clock skew, each with its reason."""
        header = jwt.get_unverified_header(payload)
        alg = header.get("alg")
        if alg != self.OIDC_RP_SIGN_ALGO:
            raise TokenRejected(f"the provider signs with {alg!r}, not OIDC_RP_SIGN_ALGO={self.OIDC_RP_SIGN_ALGO!r}")
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[alg],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER or None,
                leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
                options={"require": ["sub", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the ID token has expired: check this server's clock (clock skew)") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the ID token is dated in the future: check this server's clock (clock skew)") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("the ID token was issued for another client (OIDC_RP_CLIENT_ID)") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("the ID token's issuer is not OIDC_OP_ISSUER") from None
        except jwt.InvalidTokenError as error:
            raise TokenRejected(f"the ID token failed verification ({error})") from None

    def get_or_create_user(self, access_token, id_token, payload):
        """The account of the verified ID token's subject, brought up to date by accounts.sso."""
        userinfo = self.get_userinfo(access_token, id_token, payload) if self.OIDC_OP_USER_ENDPOINT else {}
        if userinfo and userinfo.get("sub") != payload.get("sub"):
            raise TokenRejected("the userinfo answer is about another subject than the ID token")
        # The ID token (verified) wins for sub, amr, acr and auth_time; userinfo adds profile and groups.
        claims = {**userinfo, **payload}
        subject = str(payload["sub"])
        issuer = str(payload.get("iss", ""))
        full_name = claims.get("name") or " ".join(filter(None, [claims.get("given_name"), claims.get("family_name")]))
        sso.identity_resolve(
            provider=PROVIDER,
            subject=subject,
            location=issuer,
            username=str(claims.get(settings.OIDC_USERNAME_CLAIM) or claims.get("email") or ""),
            email=str(claims.get("email") or ""),
            full_name=str(full_name or ""),
        )
        user = sso.identity_sign_in(provider=PROVIDER, subject=subject, location=issuer, groups=groups_of(claims))
        user.sso_claims = {key: payload.get(key) for key in ("amr", "acr", "auth_time")}
        return user


def logout_url(request) -> str | None:
    """
    Where to send the browser after signing out here: the provider's end-session endpoint
    (RP-initiated logout, with the ID token as hint) when it has one and this session came
    from it; None otherwise. Call before the session is flushed.
    """
    endpoint = settings.OIDC_OP_END_SESSION_ENDPOINT
    id_token = request.session.get("oidc_id_token")
    if not (settings.OIDC_ENABLED and endpoint and id_token):
        return None
    params = {
        "id_token_hint": id_token,
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("accounts:login")),
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
