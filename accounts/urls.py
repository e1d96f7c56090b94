from django.conf import settings
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_otp_view, name="login_otp"),
    path("login/verify/resend/", views.login_otp_resend, name="login_otp_resend"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register_view, name="register"),
    path("register/done/", views.register_done_view, name="register_done"),
    path("password/change/", views.password_change_view, name="password_change"),
    path("password/reset/", views.password_reset_view, name="password_reset"),
    path("password/reset/sent/", views.password_reset_done_view, name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", views.password_reset_confirm_view, name="password_reset_confirm"),
    path("profile/", views.profile_view, name="profile"),
    path("settings/", views.settings_view, name="settings"),
    path("security/", views.security_view, name="security"),
    path("security/confirm/", views.reauth_view, name="reauth"),
    path("security/app/", views.totp_setup_view, name="totp_setup"),
    path("security/email/", views.email_otp_enable_view, name="email_otp_enable"),
    path("security/email/verify/", views.code_device_verify_view, {"kind": "email"}, name="email_otp_verify"),
    path("security/sms/", views.sms_setup_view, name="sms_setup"),
    path("security/sms/verify/", views.code_device_verify_view, {"kind": "sms"}, name="sms_verify"),
    path("security/backup-codes/", views.backup_codes_view, name="backup_codes"),
    path("security/remove/", views.device_remove_view, name="device_remove"),
]

# Hospital sign-in (issue #18): these pages exist only where it is configured (settings, SSO section).
if settings.OIDC_ENABLED:
    urlpatterns += [
        path("oidc/login/", views.OIDCLoginView.as_view(), name="oidc_login"),
        path("oidc/callback/", views.OIDCCallbackView.as_view(), name="oidc_callback"),
    ]
if settings.API_TOKENS_ENABLED:
    urlpatterns += [
        path("security/api-tokens/", views.api_token_create_view, name="api_token_create"),
        path("security/api-tokens/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    ]
