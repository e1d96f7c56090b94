"""
Accounts API (DESIGN §7): one view per operation — validate input, call the shared
sign-in policy or a service, serialize the result. Errors are mapped to responses by
``core.api.exception_handler`` (401/403/429 with ``Retry-After``, 400 with field errors).
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from audit import trail
from audit.models import AuditEvent

from .. import authentication, ratelimits, services
from . import serializers as s

User = get_user_model()

_LOGIN_ERRORS = {
    401: OpenApiResponse(s.DetailOutput, description="Wrong credentials or code"),
    403: OpenApiResponse(s.DetailOutput, description="Account pending approval, deactivated or locked by an admin"),
    429: OpenApiResponse(
        s.DetailOutput, description="Locked out, sign-in to the account paused, or rate limited; see Retry-After"
    ),
}


class PublicApiView(APIView):
    """An endpoint for callers without a token (sign-in, registration, reset)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # JSON only: a cross-site page can POST a urlencoded, multipart or text/plain form
    # without a CORS preflight, and could then make a colleague's own browser fail five
    # sign-ins and lock them out of their workstation (lockout is per username + address).
    # application/json needs a preflight, which CORS (off unless configured) refuses.
    parser_classes = [JSONParser]

    def get_authenticate_header(self, request):
        # Keeps 401 a 401: DRF turns it into 403 when no scheme is advertised.
        return 'Bearer realm="api"'


def tokens_for(user, *, otp: bool) -> dict:
    """A new refresh/access pair carrying the user's roles and security stamp."""
    refresh = RefreshToken.for_user(user)
    refresh["roles"] = user.roles
    refresh["stamp"] = user.security_stamp()
    refresh["otp"] = otp
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


class TokenObtainApi(PublicApiView):
    """Exchange a username (or e-mail) and password for tokens, or for an OTP ticket."""

    @extend_schema(
        request=s.TokenObtainInput,
        responses={
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="TokenObtainOutput",
                    serializers=[s.TokenPairOutput, s.OtpRequiredOutput],
                    resource_type_field_name=None,
                ),
                description="Tokens, or {otp_required, otp_token} when 2FA is on",
            ),
            400: s.DetailOutput,
            **_LOGIN_ERRORS,
        },
        tags=["auth"],
    )
    def post(self, request):
        ratelimits.check(request, "login")
        data = s.TokenObtainInput(data=request.data)
        data.is_valid(raise_exception=True)
        # directory=False: a directory password never goes from the API to LDAP (personal tokens instead).
        user = authentication.login_check(
            request=request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            directory=False,
        )
        if authentication.needs_second_factor(user):
            message = authentication.otp_begin(user)
            return Response(
                {
                    "otp_required": True,
                    "otp_token": authentication.pending_token(user),
                    "methods": authentication.otp_methods(user),
                    "detail": message,
                }
            )
        if user.otp_required:
            raise PermissionDenied(
                {
                    "detail": "Your role requires two-step verification. Set it up in the web app first.",
                    "code": "otp_setup_required",
                }
            )
        authentication.login_complete(request=request, user=user, session=False, method="api_password")
        return Response(tokens_for(user, otp=False))


class TokenPersonalApi(PublicApiView):
    """
    Exchange a personal API token for a JWT pair: how accounts of the hospital directory or
    single sign-on reach the API (their password is never sent here). Same limits as sign-in.
    """

    @extend_schema(
        request=s.TokenPersonalInput,
        responses={200: s.TokenPairOutput, 400: s.DetailOutput, **_LOGIN_ERRORS},
        tags=["auth"],
    )
    def post(self, request):
        ratelimits.check(request, "login")
        data = s.TokenPersonalInput(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = authentication.api_token_check(request=request, secret=data.validated_data["token"])
        authentication.login_complete(request=request, user=user, session=False, method="api_token")
        return Response(tokens_for(user, otp=token.second_factor))


class ApiTokenListApi(APIView):
    """The caller's usable personal API tokens; POST creates one (its secret is in this answer only)."""

    @extend_schema(responses={200: s.ApiTokenOutput(many=True)}, tags=["auth"])
    def get(self, request):
        return Response(s.ApiTokenOutput(request.user.personal_tokens.usable(), many=True).data)

    @extend_schema(
        request=s.ApiTokenCreateInput, responses={201: s.ApiTokenCreatedOutput, 400: s.DetailOutput}, tags=["auth"]
    )
    def post(self, request):
        data = s.ApiTokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        auth = getattr(request, "auth", None)
        # A JWT says whether its sign-in passed a second factor; a session asks django-otp.
        verified = bool(auth.get("otp")) if hasattr(auth, "get") else getattr(request.user, "is_verified", bool)()
        token, secret = services.api_token_create(
            user=request.user, name=data.validated_data["name"], second_factor=verified
        )
        return Response({**s.ApiTokenOutput(token).data, "token": secret}, status=status.HTTP_201_CREATED)


class ApiTokenRevokeApi(APIView):
    """Revoke one of the caller's personal API tokens."""

    @extend_schema(responses={204: None, 404: s.DetailOutput}, tags=["auth"])
    def delete(self, request, pk: int):
        if not services.api_token_revoke(actor=request.user, user=request.user, token_id=pk):
            raise NotFound("No such API token.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenOtpApi(PublicApiView):
    """Second step of an API sign-in: the OTP ticket plus a code."""

    @extend_schema(
        request=s.TokenOtpInput, responses={200: s.TokenPairOutput, 400: s.DetailOutput, **_LOGIN_ERRORS}, tags=["auth"]
    )
    def post(self, request):
        ratelimits.check(request, "otp")
        data = s.TokenOtpInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authentication.pending_user(data.validated_data["otp_token"])
        device = authentication.otp_verify(request=request, user=user, code=data.validated_data["code"])
        authentication.login_complete(
            request=request, user=user, device=device, session=False, method="api_password+otp"
        )
        return Response(tokens_for(user, otp=True))


class TokenRefreshApi(PublicApiView):
    """Rotate a refresh token: the old one is blacklisted, a new pair is returned."""

    @extend_schema(
        request=s.TokenRefreshInput,
        responses={200: s.TokenPairOutput, 400: s.DetailOutput, 401: s.DetailOutput},
        tags=["auth"],
    )
    def post(self, request):
        ratelimits.check(request, "token_refresh")
        data = s.TokenRefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            try:
                refresh = RefreshToken(data.validated_data["refresh"])  # checks signature, expiry, blacklist
                # Serialise concurrent refreshes of the same token: only one may rotate it.
                OutstandingToken.objects.select_for_update(of=("self",)).filter(jti=refresh["jti"]).order_by(
                    "pk"
                ).first()
                refresh.check_blacklist()
            except TokenError:
                raise AuthenticationFailed(
                    "The refresh token is invalid, expired or already used.", code="token_not_valid"
                ) from None
            user = User.objects.filter(pk=refresh.get("user_id")).first()
            if (
                user is None
                or not user.is_active
                or user.is_admin_locked
                or refresh.get("stamp") != user.security_stamp()
            ):
                raise AuthenticationFailed("This token has been revoked. Sign in again.", code="token_revoked")
            refresh.blacklist()
            pair = tokens_for(user, otp=bool(refresh.get("otp")))
        return Response(pair)


class LogoutApi(PublicApiView):
    """Blacklist a refresh token so it can never be used again."""

    @extend_schema(
        request=s.LogoutInput, responses={200: s.DetailOutput, 400: s.DetailOutput, 401: s.DetailOutput}, tags=["auth"]
    )
    def post(self, request):
        data = s.LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            refresh = RefreshToken(data.validated_data["refresh"])
        except TokenError:
            raise AuthenticationFailed(
                "The refresh token is invalid, expired or already used.", code="token_not_valid"
            ) from None
        with transaction.atomic():
            refresh.blacklist()
            user = User.objects.filter(pk=refresh.get("user_id")).first()
            trail.record(AuditEvent.Event.LOGOUT, actor=user, target=user, via="api")
        return Response({"detail": "Signed out."})


class MeApi(APIView):
    """The caller's identity, roles and player preferences."""

    permission_classes = [IsAuthenticated]
    # A restricted account may read who it is (to learn why), but change nothing.
    allow_restricted_account = {"GET"}

    @extend_schema(responses={200: s.MeOutput}, tags=["auth"])
    def get(self, request):
        return Response(s.MeOutput(request.user).data)

    @extend_schema(request=s.MeUpdateInput, responses={200: s.MeOutput, 400: s.DetailOutput}, tags=["auth"])
    def patch(self, request):
        data = s.MeUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.profile_update(user=request.user, **data.validated_data)
        return Response(s.MeOutput(user).data)


class RegisterApi(PublicApiView):
    """
    Self-registration. The account stays inactive until an Admin approves it. JSON only,
    like every token-less endpoint (a cross-site form could otherwise register from a
    colleague's browser); an ID document is attached on the registration page.
    """

    @extend_schema(
        request=s.RegisterInput,
        responses={
            201: s.RegisterOutput,
            400: s.DetailOutput,
            403: OpenApiResponse(s.DetailOutput, description="Self-registration is closed"),
            429: s.DetailOutput,
        },
        tags=["auth"],
    )
    def post(self, request):
        ratelimits.check(request, "register")
        data = s.RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "status": user.approval_status,
                "detail": "Registration received. An administrator will review it; you will get an e-mail.",
            },
            status=status.HTTP_201_CREATED,
        )


class PasswordChangeApi(APIView):
    """Change the caller's password. All earlier tokens stop working; a new pair is returned."""

    permission_classes = [IsAuthenticated]
    allow_restricted_account = True

    @extend_schema(
        request=s.PasswordChangeInput,
        responses={200: s.TokenPairOutput, 400: s.DetailOutput, 429: s.DetailOutput},
        tags=["auth"],
    )
    def post(self, request):
        ratelimits.check(request, "password_change")
        data = s.PasswordChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_change(user=request.user, **data.validated_data)
        authentication.session_keep(request, request.user)  # a browser calling with its session stays in
        token = getattr(request, "auth", None)
        otp = bool(token.get("otp")) if hasattr(token, "get") else False
        return Response({"detail": "Password changed.", **tokens_for(request.user, otp=otp)})


class PasswordResetApi(PublicApiView):
    """E-mail a reset link. The answer is the same whether or not the account exists."""

    @extend_schema(
        request=s.PasswordResetInput,
        responses={200: s.DetailOutput, 400: s.DetailOutput, 429: s.DetailOutput},
        tags=["auth"],
    )
    def post(self, request):
        ratelimits.check(request, "password_reset")
        data = s.PasswordResetInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response({"detail": "If an account uses this address, a reset link is on its way."})


class PasswordResetConfirmApi(PublicApiView):
    """Set a new password with the uid and token from the reset e-mail (single use)."""

    @extend_schema(
        request=s.PasswordResetConfirmInput,
        responses={200: s.DetailOutput, 400: s.DetailOutput, 429: s.DetailOutput},
        tags=["auth"],
    )
    def post(self, request):
        ratelimits.check(request, "password_reset")
        data = s.PasswordResetConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(
            uidb64=data.validated_data["uid"],
            token=data.validated_data["token"],
            new_password=data.validated_data["new_password"],
        )
        return Response({"detail": "Password reset. You can sign in now."})
