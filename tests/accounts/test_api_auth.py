"""The JWT API: sign-in, second factor, rotation, logout, revocation, /me."""

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from accounts import roles, services
from audit.models import AuditEvent
from tests.factories import EmailOTPDeviceFactory
from tests.signin import bearer, token_sign_in, totp_code

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
OTP = "/api/v1/auth/token/otp/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"


def test_token_pair_carries_roles_and_works(api, viewer, password):
    tokens = token_sign_in(api, "vera", password)
    assert set(tokens) == {"access", "refresh"}
    me = bearer(tokens["access"], api).get(ME)
    assert me.status_code == 200
    assert me.json()["username"] == "vera"
    assert me.json()["roles"] == ["Viewer"]
    assert AuditEvent.objects.filter(event="login_success", target_user=viewer).count() == 1


@pytest.mark.parametrize("login", ["VERA", "vera@hospital.example", "Vera@Hospital.Example"])
def test_sign_in_by_username_or_email_ignores_case(api, viewer, password, login):
    token_sign_in(api, login, password)


def test_wrong_password_and_unknown_user_get_the_same_401(api, viewer):
    wrong = api.post(TOKEN, {"username": "vera", "password": "Nope-nope-1!"}, format="json")
    unknown = api.post(TOKEN, {"username": "nobody", "password": "Nope-nope-1!"}, format="json")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "Invalid username or password."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "username"),
        ({"username": "vera"}, "password"),
        ({"username": ["a"], "password": "x"}, "username"),
        ({"username": "vera", "password": {"x": 1}}, "password"),
    ],
)
def test_malformed_json_is_a_400_naming_the_field(api, viewer, body, field):
    response = api.post(TOKEN, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert "detail" in response.json()


def test_not_json_at_all_is_a_400(api):
    response = api.post(TOKEN, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_inactive_unapproved_and_locked_accounts_are_refused(api, make_user, password):
    make_user(roles.VIEWER, username="gone", is_active=False)
    make_user(username="new", is_active=False, approval_status="pending")
    locked = make_user(roles.VIEWER, username="locked")
    services.user_lock(actor=None, user=locked)
    assert api.post(TOKEN, {"username": "gone", "password": password}, format="json").json()["code"] == "inactive"
    pending = api.post(TOKEN, {"username": "new", "password": password}, format="json")
    assert pending.status_code == 403
    assert pending.json()["code"] == "pending_approval"
    assert (
        api.post(TOKEN, {"username": "locked", "password": password}, format="json").json()["code"] == "account_locked"
    )


def test_refresh_rotates_and_the_old_refresh_token_is_rejected(api, viewer, password):
    tokens = token_sign_in(api, "vera", password)
    rotated = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != tokens["refresh"]
    assert rotated.json()["access"] != tokens["access"]
    again = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401
    assert api.post(REFRESH, {"refresh": rotated.json()["refresh"]}, format="json").status_code == 200


def test_refresh_token_after_logout_is_rejected(api, viewer, password):
    tokens = token_sign_in(api, "vera", password)
    assert api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 200
    assert api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert AuditEvent.objects.filter(event="logout", target_user=viewer).exists()


def test_garbage_refresh_token_is_401(api):
    assert api.post(REFRESH, {"refresh": "abc.def.ghi"}, format="json").status_code == 401
    assert api.post(LOGOUT, {"refresh": "abc"}, format="json").status_code == 401


def test_access_token_stops_working_when_a_role_is_removed(api, uploader, password):
    tokens = token_sign_in(api, "uma", password)
    assert bearer(tokens["access"], api).get(ME).status_code == 200
    services.user_set_roles(actor=None, user=uploader, role_names=[roles.VIEWER])
    response = api.get(ME)
    assert response.status_code == 401
    assert api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_tokens_of_a_deactivated_user_get_401(api, viewer, password):
    tokens = token_sign_in(api, "vera", password)
    services.user_set_active(actor=None, user=viewer, active=False)
    assert bearer(tokens["access"], api).get(ME).status_code == 401
    assert api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_tokens_of_a_locked_user_get_401(api, viewer, password):
    tokens = token_sign_in(api, "vera", password)
    services.user_lock(actor=None, user=viewer)
    assert bearer(tokens["access"], api).get(ME).status_code == 401


def test_group_removed_directly_still_revokes(api, uploader, password):
    """Roles edited outside the service (shell, admin m2m) still change the stamp."""
    tokens = token_sign_in(api, "uma", password)
    uploader.groups.remove(Group.objects.get(name=roles.UPLOADER))
    assert bearer(tokens["access"], api).get(ME).status_code == 401


def test_password_change_needs_the_current_password_and_revokes_old_tokens(api, viewer, password):
    tokens = token_sign_in(api, "vera", password)
    bearer(tokens["access"], api)
    wrong = api.post(
        "/api/v1/auth/password/change/", {"old_password": "wrong", "new_password": "Brand-New-Pass-42"}, format="json"
    )
    assert wrong.status_code == 400
    assert "old_password" in wrong.json()
    ok = api.post(
        "/api/v1/auth/password/change/", {"old_password": password, "new_password": "Brand-New-Pass-42"}, format="json"
    )
    assert ok.status_code == 200
    assert api.get(ME).status_code == 401  # the old access token
    assert bearer(ok.json()["access"], api).get(ME).status_code == 200
    assert api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_me_patch_updates_preferences_and_rejects_bad_values(api, viewer, password):
    bearer(token_sign_in(api, "vera", password)["access"], api)
    ok = api.patch(ME, {"default_speed": "1.5", "default_quality": "720p", "theme": "dark"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["default_speed"] == "1.5"
    viewer.refresh_from_db()
    assert viewer.default_quality == "720p"
    bad = api.patch(ME, {"default_speed": "3", "theme": "neon"}, format="json")
    assert bad.status_code == 400
    assert {"default_speed", "theme"} <= set(bad.json())
    viewer.refresh_from_db()
    assert viewer.theme == "dark"


def test_me_cannot_escalate(api, viewer, password):
    bearer(token_sign_in(api, "vera", password)["access"], api)
    response = api.patch(ME, {"is_superuser": True, "roles": ["Admin"], "username": "root"}, format="json")
    assert response.status_code == 200
    viewer.refresh_from_db()
    assert not viewer.is_superuser
    assert viewer.username == "vera"
    assert viewer.roles == ["Viewer"]


def test_unauthenticated_me_is_401(api):
    assert api.get(ME).status_code == 401


# --------------------------------------------------------------------------- two-step


def test_totp_user_gets_an_otp_ticket_then_tokens(api, admin_user, password):
    first = api.post(TOKEN, {"username": "ada", "password": password}, format="json")
    assert first.status_code == 200
    body = first.json()
    assert body["otp_required"] is True
    assert "access" not in body
    device = admin_user.totpdevice_set.get()
    second = api.post(OTP, {"otp_token": body["otp_token"], "code": totp_code(device)}, format="json")
    assert second.status_code == 200, second.content
    assert bearer(second.json()["access"], api).get(ME).json()["otp_enabled"] is True


def test_an_accepted_totp_code_is_refused_the_second_time(api, admin_user, password):
    ticket = api.post(TOKEN, {"username": "ada", "password": password}, format="json").json()["otp_token"]
    code = totp_code(admin_user.totpdevice_set.get())
    assert api.post(OTP, {"otp_token": ticket, "code": code}, format="json").status_code == 200
    replay = api.post(OTP, {"otp_token": ticket, "code": code}, format="json")
    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_otp"


def test_email_code_is_single_use_and_belongs_to_one_user(api, make_user, password):

    alice = make_user(roles.VIEWER, username="alice")
    bob = make_user(roles.VIEWER, username="bob")
    EmailOTPDeviceFactory(user=alice)
    EmailOTPDeviceFactory(user=bob)
    alice_ticket = api.post(TOKEN, {"username": "alice", "password": password}, format="json").json()["otp_token"]
    alice_code = (
        mail.outbox[-1].body.split()[0] if mail.outbox[-1].body.split()[0].isdigit() else _code_in(mail.outbox[-1].body)
    )
    bob_ticket = api.post(TOKEN, {"username": "bob", "password": password}, format="json").json()["otp_token"]
    # Alice's code does not open Bob's account.
    assert api.post(OTP, {"otp_token": bob_ticket, "code": alice_code}, format="json").status_code == 401
    assert api.post(OTP, {"otp_token": alice_ticket, "code": alice_code}, format="json").status_code == 200
    assert api.post(OTP, {"otp_token": alice_ticket, "code": alice_code}, format="json").status_code == 401


def _code_in(text: str) -> str:
    import re

    return re.search(r"\b(\d{6})\b", text).group(1)


def test_otp_ticket_cannot_be_forged(api, admin_user):
    response = api.post(OTP, {"otp_token": "forged", "code": "123456"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "otp_token_invalid"


def test_role_requiring_2fa_without_device_gets_no_tokens(api, password, editor):
    response = api.post(TOKEN, {"username": "ed", "password": password}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "otp_setup_required"
