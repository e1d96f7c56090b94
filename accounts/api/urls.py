from django.conf import settings
from django.urls import path

from . import views

urlpatterns = [
    path("token/", views.TokenObtainApi.as_view(), name="token"),
    path("token/otp/", views.TokenOtpApi.as_view(), name="token_otp"),
    path("token/refresh/", views.TokenRefreshApi.as_view(), name="token_refresh"),
    path("logout/", views.LogoutApi.as_view(), name="logout"),
    path("me/", views.MeApi.as_view(), name="me"),
    path("register/", views.RegisterApi.as_view(), name="register"),
    path("password/change/", views.PasswordChangeApi.as_view(), name="password_change"),
    path("password/reset/", views.PasswordResetApi.as_view(), name="password_reset"),
    path("password/reset/confirm/", views.PasswordResetConfirmApi.as_view(), name="password_reset_confirm"),
]

# Personal API tokens (issue #18): only where they are enabled (API_TOKENS_ENABLED, settings' SSO section).
if settings.API_TOKENS_ENABLED:
    urlpatterns += [
        path("token/personal/", views.TokenPersonalApi.as_view(), name="token_personal"),
        path("api-tokens/", views.ApiTokenListApi.as_view(), name="api_tokens"),
        path("api-tokens/<int:pk>/", views.ApiTokenRevokeApi.as_view(), name="api_token"),
    ]
