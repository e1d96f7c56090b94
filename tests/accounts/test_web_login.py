"""The HTML sign-in, second factor, lockout page, forced changes and the admin's door."""

import pytest
from django.urls import reverse

from accounts import roles, services
from tests.factories import EmailOTPDeviceFactory
from tests.signin import totp_code

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def post_login(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def test_login_page_renders_with_labels(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'for="id_username"' in html and 'for="id_password"' in html
    assert 'autocomplete="current-password"' in html


def test_sign_in_and_out(client, viewer, password):
    response = post_login(client, "Vera@Hospital.Example", password)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get("/").status_code == 200
    out = client.post("/accounts/logout/")
    assert out.status_code == 302
    assert client.get("/").status_code == 302  # back to the sign-in page


def test_logout_needs_post(client, viewer):
    client.force_login(viewer)
    assert client.get("/accounts/logout/").status_code == 405


def test_wrong_password_shows_one_generic_error(client, viewer):
    response = post_login(client, "vera", "Wrong-pass-123!")
    assert response.status_code == 200
    assert "Invalid username or password." in response.content.decode()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"is_active": False}, "deactivated"),
        ({"is_active": False, "approval_status": "pending"}, "awaiting approval"),
    ],
)
def test_refused_accounts_get_a_clear_message(client, make_user, password, kwargs, message):
    make_user(roles.VIEWER, username="someone", **kwargs)
    response = post_login(client, "someone", password)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sixth_attempt_shows_the_locked_page(client, viewer, password):
    for _ in range(5):
        post_login(client, "vera", "Wrong-pass-123!")
    response = post_login(client, "vera", password)
    assert response.status_code == 429
    assert "locked" in response.content.decode()
    assert int(response["Retry-After"]) > 3600
    assert "_auth_user_id" not in client.session


def test_lockout_spans_doors(client, api, viewer, password):
    """Failures on the API lock the HTML sign-in too."""
    for _ in range(5):
        api.post("/api/v1/auth/token/", {"username": "vera", "password": "Wrong-pass-123!"}, format="json")
    assert post_login(client, "vera", password).status_code == 429


def test_login_rate_limit_page(client, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "login": "2/m"}
    post_login(client, "a", "b")
    post_login(client, "a", "b")
    response = post_login(client, "a", "b")
    assert response.status_code == 429
    assert response.has_header("Retry-After")


def test_totp_login_requires_the_code_and_refuses_replay(client, admin_user, password):
    response = post_login(client, "ada", password)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login_otp")
    assert "_auth_user_id" not in client.session  # not signed in yet
    code = totp_code(admin_user.totpdevice_set.get())
    ok = client.post(reverse("accounts:login_otp"), {"code": code})
    assert ok.status_code == 302
    assert client.session["_auth_user_id"] == str(admin_user.pk)
    client.post("/accounts/logout/")
    post_login(client, "ada", password)
    replay = client.post(reverse("accounts:login_otp"), {"code": code})
    assert replay.status_code == 200
    assert "not valid" in replay.content.decode()


def test_email_code_login_and_resend(client, viewer, password, mailoutbox):
    EmailOTPDeviceFactory(user=viewer)
    post_login(client, "vera", password)
    assert len(mailoutbox) == 1
    import re

    code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)
    # A resend inside the cooldown sends nothing new.
    client.post(reverse("accounts:login_otp_resend"), {"method": "email"})
    assert len(mailoutbox) == 1
    assert client.post(reverse("accounts:login_otp"), {"code": code}).status_code == 302


def test_otp_step_without_password_step_goes_back_to_login(client):
    response = client.get(reverse("accounts:login_otp"))
    assert response.status_code == 302
    assert response["Location"] == LOGIN


def test_open_redirect_after_login_is_refused(client, viewer, password):
    response = client.post(LOGIN, {"username": "vera", "password": password, "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")
    response = client.post(LOGIN, {"username": "vera", "password": password, "next": "//evil.example/x"})
    assert response["Location"] == reverse("home")


def test_local_next_is_followed(client, viewer, password):
    response = client.post(LOGIN, {"username": "vera", "password": password, "next": "/accounts/profile/"})
    assert response["Location"] == "/accounts/profile/"


def test_expired_password_redirects_every_page_to_the_change_form(client, viewer, password, settings):
    from datetime import timedelta

    from django.utils import timezone

    type(viewer).objects.filter(pk=viewer.pk).update(password_changed_at=timezone.now() - timedelta(days=200))
    client.force_login(viewer)
    for path in ["/", "/accounts/profile/", "/accounts/settings/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:password_change")
    assert client.get(reverse("accounts:password_change")).status_code == 200
    assert client.get("/terms/").status_code == 200


def test_role_requiring_2fa_must_enrol_before_anything_else(client, editor):
    client.force_login(editor)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:security")
    assert client.get(reverse("accounts:security")).status_code == 200


def test_totp_enrolment_flow_gives_backup_codes_once(client, password, editor):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    # Signing in with the password counts as the re-authentication that adding a factor needs.
    post_login(client, "ed", password)
    page = client.get(reverse("accounts:totp_setup"))
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=editor, confirmed=False)
    wrong = client.post(reverse("accounts:totp_setup"), {"code": "000000"})
    assert "not right" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # django-otp makes the next try wait a second; skip the wait
    done = client.post(reverse("accounts:totp_setup"), {"code": totp_code(device)})
    assert done.status_code == 200
    codes = done.context["backup_codes"]
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    # Now the editor may use the site.
    assert client.get("/").status_code == 200


def test_admin_login_is_the_site_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_admin_requires_a_staff_role(client, viewer):
    client.force_login(viewer)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert "does not have access" in response.content.decode()
    assert client.get("/admin/accounts/user/", follow=True).status_code == 403


def test_admin_open_to_admin_role_after_second_factor(staff_client):
    assert staff_client.get("/admin/").status_code == 200


def test_admin_locked_user_session_is_ended(client, viewer):
    client.force_login(viewer)
    services.user_lock(actor=None, user=viewer)
    response = client.get("/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_change_page_requires_current_password(client, viewer, password):
    client.force_login(viewer)
    bad = client.post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "new_password1": "Fresh-Pass-2026!", "new_password2": "Fresh-Pass-2026!"},
    )
    assert bad.status_code == 200
    assert "not correct" in bad.content.decode()
    ok = client.post(
        reverse("accounts:password_change"),
        {"old_password": password, "new_password1": "Fresh-Pass-2026!", "new_password2": "Fresh-Pass-2026!"},
    )
    assert ok.status_code == 302
    viewer.refresh_from_db()
    assert viewer.check_password("Fresh-Pass-2026!")
    # This browser stays signed in.
    assert client.get("/accounts/profile/").status_code == 200


def test_register_page_creates_a_pending_account(client):
    from django.contrib.auth import get_user_model

    response = client.post(
        reverse("accounts:register"),
        {
            "username": "newbie",
            "email": "newbie@hospital.example",
            "full_name": "New Bie",
            "employee_id": "E77",
            "mobile": "",
            "user_type": "employee",
            "password1": "Str0ng!Passw0rd",
            "password2": "Str0ng!Passw0rd",
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:register_done")
    user = get_user_model().objects.get(username="newbie")
    assert not user.is_active


def test_register_page_shows_password_rule_errors(client):
    response = client.post(
        reverse("accounts:register"),
        {
            "username": "newbie",
            "email": "newbie@hospital.example",
            "full_name": "N",
            "user_type": "employee",
            "password1": "weakpass",
            "password2": "weakpass",
            "accept_terms": "on",
        },
    )
    assert response.status_code == 200
    assert "upper-case" in response.content.decode()
