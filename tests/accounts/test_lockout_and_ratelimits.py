"""Lockout (django-axes) and rate limits on every sign-in door, keyed on the real client address."""

import pytest
from axes.models import AccessAttempt

from accounts import roles, services
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


def attempt(api, username, password, ip="10.0.0.1", **extra):
    return api.post(TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip, **extra)


def test_sixth_attempt_is_locked_even_with_the_right_password(api, viewer, password):
    for _ in range(4):
        assert attempt(api, "vera", "Wrong-pass-123!").status_code == 401
    fifth = attempt(api, "vera", "Wrong-pass-123!")
    assert fifth.status_code == 429
    sixth = attempt(api, "vera", password)
    assert sixth.status_code == 429
    body = sixth.json()
    assert body["code"] == "locked"
    assert "locked" in body["detail"]
    assert 23 * 3600 < int(sixth["Retry-After"]) <= 24 * 3600
    assert AuditEvent.objects.filter(event="lockout", target_user=viewer).exists()


def test_lockout_counts_case_and_email_variants_together(api, viewer, password):
    for login in ["vera", "VERA", "Vera", "vera@hospital.example", "VERA@hospital.example"]:
        attempt(api, login, "Wrong-pass-123!")
    assert attempt(api, "vera", password).status_code == 429


def test_lockout_is_per_client_address_by_default(api, viewer, password):
    for _ in range(5):
        attempt(api, "vera", "Wrong-pass-123!", ip="10.0.0.66")
    assert attempt(api, "vera", password, ip="10.0.0.66").status_code == 429
    # The same colleague at another workstation is not locked out.
    assert attempt(api, "vera", password, ip="10.0.0.7").status_code == 200


def test_lockout_by_username_only_when_configured(api, viewer, password, settings):
    settings.AXES_LOCKOUT_PARAMETERS = ["username"]
    for _ in range(5):
        attempt(api, "vera", "Wrong-pass-123!", ip="10.0.0.66")
    assert attempt(api, "vera", password, ip="10.0.0.7").status_code == 429


def test_spoofed_x_forwarded_for_does_not_escape_the_lockout(api, viewer, password):
    for n in range(5):
        attempt(api, "vera", "Wrong-pass-123!", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert attempt(api, "vera", password, HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 429


def test_x_forwarded_for_is_used_behind_a_configured_proxy(api, viewer, password, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        attempt(api, "vera", "Wrong-pass-123!", ip="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert attempt(api, "vera", password, ip="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    # Another client behind the same proxy is unaffected.
    assert attempt(api, "vera", password, ip="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 200
    # A client-written entry left of the proxy's is ignored.
    spoofed = attempt(api, "vera", password, ip="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.6, 203.0.113.5")
    assert spoofed.status_code == 429


def test_otp_failures_count_towards_the_lockout(api, admin_user, password):
    ticket = api.post(TOKEN, {"username": "ada", "password": password}, format="json").json()["otp_token"]
    statuses = []
    for _ in range(5):
        response = api.post("/api/v1/auth/token/otp/", {"otp_token": ticket, "code": "000000"}, format="json")
        statuses.append(response.status_code)
    assert statuses[-1] == 429
    assert api.post(TOKEN, {"username": "ada", "password": password}, format="json").status_code == 429


def test_admin_unlock_clears_the_lockout(api, viewer, password, admin_user):
    for _ in range(5):
        attempt(api, "vera", "Wrong-pass-123!")
    assert attempt(api, "vera", password).status_code == 429
    services.user_unlock(actor=admin_user, user=viewer)
    assert attempt(api, "vera", password).status_code == 200
    assert AccessAttempt.objects.filter(username="vera").count() == 0
    assert AuditEvent.objects.filter(event="unlock", target_user=viewer, actor=admin_user).exists()


def test_successful_sign_in_resets_the_failure_count(api, viewer, password):
    for _ in range(4):
        attempt(api, "vera", "Wrong-pass-123!")
    assert attempt(api, "vera", password).status_code == 200
    for _ in range(4):
        attempt(api, "vera", "Wrong-pass-123!")
    assert attempt(api, "vera", password).status_code == 200


def test_login_rate_limit_answers_429_with_retry_after(api, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "login": "3/m"}
    codes = [attempt(api, f"nobody{n}", "x").status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]
    limited = attempt(api, "nobody", "x")
    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 60
    assert "Too many requests" in limited.json()["detail"]


def test_rate_limit_ignores_a_spoofed_forwarded_header(api, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "login": "3/m"}
    codes = [attempt(api, "x", "y", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(5)]
    assert codes[3:] == [429, 429]


def test_rate_limit_is_per_client(api, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "login": "2/m"}
    for _ in range(3):
        attempt(api, "x", "y", ip="10.1.1.1")
    assert attempt(api, "x", "y", ip="10.1.1.2").status_code == 401


@pytest.mark.parametrize(
    ("group", "path", "body"),
    [
        ("register", "/api/v1/auth/register/", {"username": "a"}),
        ("password_reset", "/api/v1/auth/password/reset/", {"email": "a@b.example"}),
        ("password_reset", "/api/v1/auth/password/reset/confirm/", {"uid": "x", "token": "y", "new_password": "z"}),
        ("otp", "/api/v1/auth/token/otp/", {"otp_token": "x", "code": "1"}),
        ("token_refresh", "/api/v1/auth/token/refresh/", {"refresh": "x"}),
    ],
)
def test_every_public_auth_endpoint_is_rate_limited(api, settings, group, path, body):
    settings.RATELIMITS = {**settings.RATELIMITS, group: "2/m"}
    statuses = [api.post(path, body, format="json").status_code for _ in range(3)]
    assert statuses[:2] != [429, 429]
    assert statuses[2] == 429


def test_password_change_is_rate_limited(api, viewer, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "password_change": "2/m"}
    api.force_authenticate(viewer)
    statuses = [
        api.post("/api/v1/auth/password/change/", {"old_password": "x", "new_password": "y"}, format="json").status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_register_rate_limit_matches_the_seed_10_per_5_minutes(api):
    """Seed acceptance test: the 11th registration within 5 minutes is 429."""
    statuses = []
    for n in range(11):
        body = {"username": f"new{n}", "email": f"new{n}@hospital.example", "password": "Str0ng!Passw0rd"}
        statuses.append(api.post("/api/v1/auth/register/", body, format="json").status_code)
    assert statuses[:10] == [201] * 10
    assert statuses[10] == 429


def test_roles_fixture_sanity(make_user):
    user = make_user(roles.VIEWER, roles.UPLOADER)
    assert user.roles == ["Viewer", "Uploader"]
