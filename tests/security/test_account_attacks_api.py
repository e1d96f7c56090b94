"""
Security review of the account layer (issue 3, DESIGN §8): attacks on enumeration,
lockout, rate limits, OTP, tokens, CSRF, redirects, IDOR, XSS, mass assignment, secrets in
logs and malformed input on the JSON API. HTML-only attacks are in
``test_account_attacks_web.py``.
"""

import io
import json
import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts import otp, roles, services
from accounts.models import SMSOTPDevice
from accounts.sms import SMSError
from audit.models import AuditEvent
from tests.accounts.test_registration import register_with_document
from tests.factories import EmailOTPDeviceFactory, SMSOTPDeviceFactory, TOTPDeviceFactory
from tests.media import TINY_PDF
from tests.signin import bearer, token_sign_in, totp_code

pytestmark = pytest.mark.django_db
User = get_user_model()

TOKEN = "/api/v1/auth/token/"
OTP = "/api/v1/auth/token/otp/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
REGISTER = "/api/v1/auth/register/"
CHANGE = "/api/v1/auth/password/change/"
RESET = "/api/v1/auth/password/reset/"
RESET_CONFIRM = "/api/v1/auth/password/reset/confirm/"
WRONG = "Wrong-pass-123!"
NEW_PASSWORD = "Another-Strong-77?"


def token_post(api, username, password, **extra):
    return api.post(TOKEN, {"username": username, "password": password}, format="json", **extra)


def registration(**overrides):
    body = {
        "username": "newbie",
        "email": "newbie@hospital.example",
        "password": "Str0ng!Passw0rd",
        "full_name": "New Person",
    }
    body.update(overrides)
    return body


def sent_code(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1].body).group(1)


def add_email_codes(user, outbox) -> None:
    """Turn on e-mail codes as the security pages do: add, send a code, confirm with it."""
    device = otp.email_device_add(user=user)
    otp.challenge_send(device)
    assert otp.code_device_confirm(user=user, device=device, code=sent_code(outbox)) is not None


def reset_link_parts(outbox):
    match = re.search(r"/accounts/password/reset/([^/\s]+)/([^/\s]+)/", outbox[-1].body)
    assert match, outbox[-1].body
    return match.group(1), match.group(2)


# --------------------------------------------------------------------------------------
# Account enumeration
# --------------------------------------------------------------------------------------
def _comparable(response):
    """Everything a client can see in a refusal, minus what differs on every request."""
    headers = {k: v for k, v in response.items() if k not in {"X-Request-ID", "Date"}}
    return response.status_code, response.json(), headers


def test_wrong_password_looks_the_same_for_every_kind_of_account(api, make_user, viewer):
    """Unknown, active, inactive, pending, rejected, admin-locked and 2FA accounts: one answer."""
    make_user(roles.VIEWER, username="gone", is_active=False)
    make_user(username="waiting", is_active=False, approval_status="pending")
    make_user(username="refused", is_active=False, approval_status="rejected")
    locked = make_user(roles.VIEWER, username="barred")
    services.user_lock(actor=None, user=locked)
    two_fa = make_user(roles.VIEWER, username="twofa")
    TOTPDeviceFactory(user=two_fa)

    answers = {
        name: _comparable(token_post(api, name, WRONG, REMOTE_ADDR=f"10.9.0.{n}"))
        for n, name in enumerate(["nobody", "vera", "gone", "waiting", "refused", "barred", "twofa"])
    }
    reference = answers.pop("nobody")
    assert reference[0] == 401
    assert reference[1] == {"detail": "Invalid username or password.", "code": "invalid_credentials"}
    for name, answer in answers.items():
        assert answer == reference, name


def test_password_reset_answer_never_reveals_the_account(api, make_user, viewer, mailoutbox):
    make_user(roles.VIEWER, username="gone", is_active=False)
    make_user(username="waiting", is_active=False, approval_status="pending")
    answers = [
        _comparable(api.post(RESET, {"email": email}, format="json"))
        for email in [
            "nobody@hospital.example",
            "vera@hospital.example",
            "VERA@Hospital.Example",
            "gone@hospital.example",
            "waiting@hospital.example",
        ]
    ]
    assert answers[0][0] == 200
    assert answers[0][1] == {"detail": "If an account uses this address, a reset link is on its way."}
    assert all(answer == answers[0] for answer in answers)
    # Only the active account got mail (twice: lower- and mixed-case address).
    assert [m.to for m in mailoutbox] == [["vera@hospital.example"], ["vera@hospital.example"]]


# --------------------------------------------------------------------------------------
# Lockout: identifier variants and doors
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", [" vera ", "VERA\t", "\tVera@HOSPITAL.example  ", "vErA@hospital.EXAMPLE"])
def test_lockout_is_not_escaped_by_whitespace_or_case_variants(api, viewer, password, variant):
    for _ in range(4):
        token_post(api, variant, WRONG)
    assert token_post(api, "vera", WRONG).status_code == 429
    for login in ["vera", variant, "vera@hospital.example"]:
        assert token_post(api, login, password).status_code == 429


def test_lockout_counts_unicode_case_variants_of_a_username_together(api, make_user, password):
    make_user(roles.VIEWER, username="jörg", email="joerg@hospital.example")
    for login in ["JÖRG", "Jörg", "jÖrg", "JöRG", "jörg"]:
        token_post(api, login, WRONG)
    assert token_post(api, "jörg", password).status_code == 429


def test_failures_on_every_door_share_one_counter(client, api, admin_user, password):
    """Two API failures, two HTML failures and an OTP failure lock the account everywhere."""
    token_post(api, "ada", WRONG)
    token_post(api, "ADA", WRONG)
    client.post("/accounts/login/", {"username": "ada", "password": WRONG})
    client.post("/accounts/login/", {"username": "ada@hospital.example", "password": WRONG})
    ticket = token_sign_in(api, "ada", password)["otp_token"]
    assert api.post(OTP, {"otp_token": ticket, "code": "000000"}, format="json").status_code == 429
    code = totp_code(admin_user.totpdevice_set.get())
    # A ticket obtained before the lockout does not help: the right code is refused too.
    locked = api.post(OTP, {"otp_token": ticket, "code": code}, format="json")
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked"
    assert int(locked["Retry-After"]) > 3600
    html = client.post("/accounts/login/", {"username": "ada", "password": password})
    assert html.status_code == 429


def test_admin_door_is_the_locked_site_login(client, admin_user, password):
    for _ in range(5):
        client.post("/accounts/login/?next=/admin/", {"username": "ada", "password": WRONG})
    response = client.post("/accounts/login/?next=/admin/", {"username": "ada", "password": password})
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


# --------------------------------------------------------------------------------------
# Rate limits: spoofed client-address headers
# --------------------------------------------------------------------------------------
SPOOF_HEADERS = ["HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_CLIENT_IP", "HTTP_FORWARDED", "HTTP_TRUE_CLIENT_IP"]


@pytest.mark.parametrize(
    ("group", "path", "body"),
    [
        ("login", TOKEN, {"username": "x", "password": "y"}),
        ("register", REGISTER, {"username": "a"}),
        ("password_reset", RESET, {"email": "a@b.example"}),
        ("otp", OTP, {"otp_token": "x", "code": "1"}),
    ],
)
def test_no_client_address_header_resets_a_rate_limit(api, settings, group, path, body):
    settings.RATELIMITS = {**settings.RATELIMITS, group: "2/m"}
    api.post(path, body, format="json")
    api.post(path, body, format="json")
    for n, header in enumerate(SPOOF_HEADERS):
        response = api.post(path, body, format="json", **{header: f"198.51.100.{n}"})
        assert response.status_code == 429, header
        assert response.has_header("Retry-After")


def test_forwarded_header_from_a_peer_that_is_not_our_proxy_is_ignored(api, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    settings.RATELIMITS = {**settings.RATELIMITS, "login": "2/m"}
    for n in range(2):
        token_post(api, "x", "y", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    spoofed = token_post(api, "x", "y", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert spoofed.status_code == 429
    # Through the real proxy, the client written by the proxy (right-most) is used.
    via_proxy = token_post(api, "x", "y", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.9")
    assert via_proxy.status_code == 401


# --------------------------------------------------------------------------------------
# OTP tickets and codes
# --------------------------------------------------------------------------------------
def test_otp_ticket_dies_when_the_password_changes(api, admin_user, password):
    ticket = token_sign_in(api, "ada", password)["otp_token"]
    services.password_set_by_admin(actor=None, user=admin_user, temporary_password=NEW_PASSWORD)
    code = totp_code(admin_user.totpdevice_set.get())
    response = api.post(OTP, {"otp_token": ticket, "code": code}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "otp_token_invalid"


@pytest.mark.parametrize("change", ["deactivate", "lock", "role"])
def test_otp_ticket_dies_when_the_account_changes(api, admin_user, password, change):
    ticket = token_sign_in(api, "ada", password)["otp_token"]
    if change == "deactivate":
        services.user_set_active(actor=None, user=admin_user, active=False)
    elif change == "lock":
        services.user_lock(actor=None, user=admin_user)
    else:
        services.user_set_roles(actor=None, user=admin_user, role_names=[roles.VIEWER])
    code = totp_code(admin_user.totpdevice_set.get())
    response = api.post(OTP, {"otp_token": ticket, "code": code}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "otp_token_invalid"


def test_backup_code_is_single_use_across_doors(client, api, admin_user, password):
    codes = otp.backup_codes_regenerate(user=admin_user)
    ticket = token_sign_in(api, "ada", password)["otp_token"]
    assert api.post(OTP, {"otp_token": ticket, "code": codes[0]}, format="json").status_code == 200
    client.post("/accounts/login/", {"username": "ada", "password": password})
    replay = client.post("/accounts/login/verify/", {"code": codes[0].upper().replace("-", " ")})
    assert replay.status_code == 200
    assert "not valid" in replay.content.decode()
    assert "_auth_user_id" not in client.session


def test_email_code_cannot_be_replayed_after_use(api, viewer, password, mailoutbox):
    EmailOTPDeviceFactory(user=viewer)
    ticket = token_sign_in(api, "vera", password)["otp_token"]
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)
    assert api.post(OTP, {"otp_token": ticket, "code": code}, format="json").status_code == 200
    again = api.post(OTP, {"otp_token": ticket, "code": code}, format="json")
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_otp"


class FailingSMSBackend:
    attempted: list[str] = []

    def send(self, number, message):
        self.attempted.append(message)
        raise SMSError("SMS gateway answered 503")


def test_sms_gateway_failure_is_a_clear_answer_not_a_500(api, make_user, password, settings, caplog):
    """The gateway being down is not the user's fault: no 500, a message, and no code in the logs."""
    user = make_user(roles.VIEWER, username="sam")
    SMSOTPDeviceFactory(user=user)
    settings.SMS_BACKEND = "tests.security.test_account_attacks_api.FailingSMSBackend"
    with caplog.at_level(logging.DEBUG):
        response = token_post(api, "sam", password)
    assert response.status_code == 200
    body = response.json()
    assert body["otp_required"] is True
    assert body["detail"] == "The code could not be sent just now. Try again in a minute or use another method."
    device = SMSOTPDevice.objects.get(user=user)
    # No undeliverable code is left waiting, and the user need not sit out the resend cooldown.
    assert device.code_hash == ""
    assert device.last_generated_timestamp is None
    code = re.search(r"\b(\d{6})\b", FailingSMSBackend.attempted[-1]).group(1)
    assert "Could not deliver a sign-in code" in caplog.text
    assert code not in caplog.text


# --------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------
def test_access_token_is_not_a_refresh_token_and_vice_versa(api, viewer, password):
    tokens = token_sign_in(api, "vera", password)
    assert api.post(REFRESH, {"refresh": tokens["access"]}, format="json").status_code == 401
    assert api.post(LOGOUT, {"refresh": tokens["access"]}, format="json").status_code == 401
    assert bearer(tokens["refresh"]).get(ME).status_code == 401


def test_logout_twice_is_refused(api, viewer, password):
    tokens = token_sign_in(api, "vera", password)
    assert api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 200
    again = api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401
    assert again.json()["detail"] == "The refresh token is invalid, expired or already used."


def test_a_rotated_refresh_token_cannot_be_refreshed_again_or_logged_out(api, viewer, password):
    tokens = token_sign_in(api, "vera", password)
    assert api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 200
    assert api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 401


@pytest.mark.parametrize("change", ["reset", "temporary", "superuser", "unapprove", "revoke_action"])
def test_tokens_die_on_every_account_change(api, viewer, password, mailoutbox, change, staff_client):
    tokens = token_sign_in(api, "vera", password)
    if change == "reset":
        api.post(RESET, {"email": "vera@hospital.example"}, format="json")
        uid, token = reset_link_parts(mailoutbox)
        done = api.post(RESET_CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json")
        assert done.status_code == 200
    elif change == "temporary":
        services.password_set_by_admin(actor=None, user=viewer)
    elif change == "superuser":
        User.objects.filter(pk=viewer.pk).update(is_superuser=True)
    elif change == "unapprove":
        User.objects.filter(pk=viewer.pk).update(approval_status="rejected")
    else:
        staff_client.post("/admin/accounts/user/", {"action": "revoke_tokens", "_selected_action": [viewer.pk]})
    assert bearer(tokens["access"]).get(ME).status_code == 401
    assert api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_password_only_tokens_stop_working_when_two_factor_is_turned_on(api, viewer, password, mailoutbox):
    """
    HTML sessions that never passed a second factor are ended once the account has one
    (AccountStateMiddleware); API tokens obtained with the password alone must end too, or
    someone who phished the password keeps API access after the victim enables 2FA.
    """
    tokens = token_sign_in(api, "vera", password)
    otp.email_device_add(user=viewer)
    assert bearer(tokens["access"]).get(ME).status_code == 200  # not a factor until its code is entered
    add_email_codes(viewer, mailoutbox)
    assert bearer(tokens["access"]).get(ME).status_code == 401
    assert api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_tokens_from_the_otp_step_survive_adding_another_factor(api, admin_user, password, mailoutbox):
    ticket = token_sign_in(api, "ada", password)["otp_token"]
    code = totp_code(admin_user.totpdevice_set.get())
    tokens = api.post(OTP, {"otp_token": ticket, "code": code}, format="json").json()
    add_email_codes(admin_user, mailoutbox)
    assert bearer(tokens["access"]).get(ME).status_code == 200


def test_session_cannot_be_used_by_a_deactivated_user_on_the_api(client, viewer):
    client.force_login(viewer)
    assert client.get(ME).status_code == 200
    services.user_set_active(actor=None, user=viewer, active=False)
    response = client.get(ME)
    assert response.status_code == 401


# --------------------------------------------------------------------------------------
# CSRF and cross-site requests on the API
# --------------------------------------------------------------------------------------
def test_session_api_writes_need_the_csrf_token(viewer):
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(viewer)
    response = api.patch(ME, {"theme": "dark"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    viewer.refresh_from_db()
    assert viewer.theme == "system"


@pytest.mark.parametrize("path", [TOKEN, OTP, REFRESH, LOGOUT, RESET, RESET_CONFIRM])
@pytest.mark.parametrize("content_type", ["multipart", "form", "text"])
def test_public_auth_endpoints_accept_only_json(api, path, content_type):
    """
    A cross-site page can POST a form (urlencoded, multipart or text/plain) without a
    CORS preflight. Accepting such bodies would let any web page make a colleague's own
    browser fail five sign-ins and lock them out of their workstation for 24 h.
    """
    body = {
        "username": "vera",
        "password": WRONG,
        "email": "a@b.example",
        "refresh": "x",
        "otp_token": "x",
        "code": "1",
    }
    if content_type == "multipart":
        response = api.post(path, body, format="multipart")
    elif content_type == "form":
        from urllib.parse import urlencode

        response = api.post(path, urlencode(body), content_type="application/x-www-form-urlencoded")
    else:
        response = api.post(path, json.dumps(body), content_type="text/plain")
    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]


def test_cross_site_form_cannot_lock_a_colleague_out(api, viewer, password):
    for _ in range(6):
        api.post(TOKEN, {"username": "vera", "password": WRONG}, format="multipart")
    assert token_post(api, "vera", password).status_code == 200


# --------------------------------------------------------------------------------------
# Registration: identity confusion and mass assignment
# --------------------------------------------------------------------------------------
def test_username_cannot_be_someone_elses_email(api, make_user, password):
    """Sign-in accepts a username or an e-mail: one must never name two accounts."""
    victim = make_user(roles.VIEWER, username="zed", email="alice@hospital.example")
    response = api.post(REGISTER, registration(username="ALICE@hospital.example"), format="json")
    assert response.status_code == 400
    assert response.json()["username"] == ["That username is taken."]
    assert User.objects.count() == 1
    assert token_post(api, "alice@hospital.example", password).status_code == 200
    assert victim.pk == User.objects.by_login("alice@hospital.example").get().pk


def test_email_cannot_be_someone_elses_username(api, make_user, password):
    make_user(roles.VIEWER, username="bob@hospital.example", email="robert@elsewhere.example")
    response = api.post(REGISTER, registration(email="Bob@Hospital.example"), format="json")
    assert response.status_code == 400
    assert response.json()["email"] == ["An account with this e-mail address already exists."]
    assert User.objects.count() == 1


def test_compatibility_variant_of_an_existing_username_is_refused(api, viewer):
    """Full-width 'ｖｅｒａ' becomes 'vera' under NFKC (Django normalises usernames)."""
    response = api.post(REGISTER, registration(username="ｖｅｒａ"), format="json")
    assert response.status_code == 400
    assert "username" in response.json()
    assert User.objects.count() == 1
    viewer.refresh_from_db()
    assert viewer.email == "vera@hospital.example"


def test_registration_ignores_every_privileged_field(api):
    body = registration(
        is_superuser=True,
        is_staff=True,
        is_active=True,
        approval_status="approved",
        groups=[1, 2, 3, 4, 5],
        roles=["Admin"],
        token_generation=99,
        must_change_password=False,
        locked_until=None,
        password_changed_at="2000-01-01T00:00:00Z",
        id=1,
    )
    assert api.post(REGISTER, body, format="json").status_code == 201
    user = User.objects.get(username="newbie")
    assert (user.is_superuser, user.is_staff, user.is_active) == (False, False, False)
    assert user.approval_status == "pending"
    assert list(user.groups.all()) == []
    assert user.token_generation == 0


def test_me_patch_ignores_identity_and_privilege_fields(api, viewer, password):
    client = bearer(token_sign_in(api, "vera", password)["access"])
    response = client.patch(
        ME,
        {
            "username": "root",
            "email": "root@evil.example",
            "is_superuser": True,
            "is_staff": True,
            "roles": ["Admin"],
            "password": "Hijack-Pass-99!",
            "approval_status": "approved",
            "employee_id": "X1",
            "full_name": "Vera V",
        },
        format="json",
    )
    assert response.status_code == 200
    viewer.refresh_from_db()
    assert (viewer.username, viewer.email, viewer.employee_id) == ("vera", "vera@hospital.example", None)
    assert not viewer.is_superuser and not viewer.is_staff
    assert viewer.roles == ["Viewer"]
    assert viewer.check_password(password)
    assert viewer.full_name == "Vera V"


def test_id_document_name_cannot_escape_the_private_folder(client, settings):
    upload = SimpleUploadedFile("../../../../etc/cron.d/evil.pdf", TINY_PDF, content_type="application/pdf")
    response = register_with_document(client, upload)
    assert response.status_code == 302
    user = User.objects.get(username="newdoc")
    folder = settings.MEDIA_ROOT / "private" / "id-documents"
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", user.id_document.name)
    assert [p.name for p in folder.iterdir()] == [user.id_document.name]


def test_id_document_polyglot_with_html_extension_is_refused(client):
    upload = SimpleUploadedFile("id.pdf.html", TINY_PDF, content_type="application/pdf")
    response = register_with_document(client, upload)
    assert response.status_code == 200
    assert response.context["form"].errors["id_document"] == ["The ID document must be a PDF, PNG or JPEG file."]


# --------------------------------------------------------------------------------------
# Secrets never in logs or the audit trail
# --------------------------------------------------------------------------------------
@pytest.fixture
def json_log():
    from core.logging import JsonFormatter, RequestContextFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield stream
    root.setLevel(previous)
    root.removeHandler(handler)


def test_reset_token_is_never_written_to_the_access_log(client, viewer, mailoutbox, json_log):
    client.post("/accounts/password/reset/", {"email": "vera@hospital.example"})
    uid, token = reset_link_parts(mailoutbox)
    url = f"/accounts/password/reset/{uid}/{token}/"
    assert client.get(url).status_code == 200
    client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    viewer.refresh_from_db()
    assert viewer.check_password(NEW_PASSWORD)
    log = json_log.getvalue()
    access = [json.loads(line) for line in log.splitlines() if '"svl.access"' in line]
    assert any(entry["path"].startswith(f"/accounts/password/reset/{uid}/") for entry in access)
    assert token not in log


def test_otp_codes_tickets_and_tokens_never_reach_logs_audit_or_axes(
    api, client, viewer, password, mailoutbox, json_log
):
    from axes.models import AccessAttempt

    EmailOTPDeviceFactory(user=viewer)
    ticket = token_sign_in(api, "vera", password)["otp_token"]
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)
    tokens = api.post(OTP, {"otp_token": ticket, "code": code}, format="json").json()
    api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    client.post("/accounts/login/", {"username": "vera", "password": password})
    client.post("/accounts/login/verify/", {"code": "999999"})
    secrets = [password, code, ticket, tokens["access"], tokens["refresh"], "999999"]
    log = json_log.getvalue()
    audit = json.dumps([[e.username, e.user_agent, e.detail] for e in AuditEvent.objects.all()])
    axes = json.dumps([[a.get_data, a.post_data, a.username] for a in AccessAttempt.objects.all()])
    for secret in secrets:
        assert secret not in log
        assert secret not in audit
        assert secret not in axes


# --------------------------------------------------------------------------------------
# Malformed input on every API endpoint: a 4xx with a message, never a 500
# --------------------------------------------------------------------------------------
HUGE = "A" * 100_000
NUL = "vera\x00"
BAD_BODIES = [
    [],
    ["username", "password"],
    "just a string",
    12345,
    None,
    True,
    {"username": None, "password": None},
    {"username": {"$ne": ""}, "password": {"$ne": ""}},
    {"username": HUGE, "password": HUGE},
    {"username": NUL, "password": NUL},
    {"email": NUL, "refresh": NUL, "otp_token": NUL, "code": NUL, "uid": NUL, "token": NUL},
    {"email": ["a@b.example"], "refresh": ["x"], "otp_token": {"a": 1}, "code": [], "uid": {}, "token": ["x"]},
    {"email": HUGE, "refresh": HUGE, "otp_token": HUGE, "code": HUGE, "uid": HUGE, "token": HUGE},
]
PUBLIC_POSTS = [TOKEN, OTP, REFRESH, LOGOUT, REGISTER, RESET, RESET_CONFIRM]


@pytest.mark.parametrize("path", PUBLIC_POSTS)
@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: repr(b)[:30])
def test_malformed_bodies_on_public_endpoints_are_400(api, viewer, path, body):
    response = api.post(path, json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["detail"]


@pytest.mark.parametrize("path", PUBLIC_POSTS)
@pytest.mark.parametrize("raw", [b"{bad json", b"\xff\xfe\x00\x00", b'{"username": "\\ud800"}', b""])
def test_unparseable_bodies_are_400(api, path, raw):
    response = api.post(path, raw, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        [],
        "x",
        {"theme": ["dark"]},
        {"theme": "<script>"},
        {"autoplay_next": "maybe"},
        {"default_speed": 3},
        {"default_quality": None},
        {"mobile": "not a phone"},
        {"mobile": "+1" + "9" * 30},
        {"full_name": "x" * 151},
        {"full_name": "nul\x00byte"},
        {"full_name": None},
    ],
    ids=lambda b: repr(b)[:30],
)
def test_malformed_me_patch_is_400_and_changes_nothing(api, viewer, password, body):
    client = bearer(token_sign_in(api, "vera", password)["access"])
    before = User.objects.filter(pk=viewer.pk).values().get()
    response = client.patch(ME, json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["detail"]
    after = User.objects.filter(pk=viewer.pk).values().get()
    assert before == after


@pytest.mark.parametrize(
    "uid",
    [
        "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw",  # 1234567890123456789012345678901234567890
        "LTE",  # -1
        "MS41",  # 1.5
        "MQA",  # "1\x00"
        "_w",  # not UTF-8
        "!!!",
    ],
)
def test_reset_confirm_with_a_hostile_uid_is_400(api, viewer, uid):
    response = api.post(RESET_CONFIRM, {"uid": uid, "token": "abc-def", "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["token"] == ["This reset link is invalid, expired or already used."]


@pytest.mark.parametrize(
    "body",
    [
        {"old_password": None, "new_password": NEW_PASSWORD},
        {"old_password": ["x"], "new_password": NEW_PASSWORD},
        {"old_password": "Correct-Horse-9!", "new_password": "x\x00" * 6},
        {"old_password": "Correct-Horse-9!", "new_password": HUGE},
        {"old_password": "Correct-Horse-9!"},
        [],
    ],
    ids=lambda b: repr(b)[:40],
)
def test_malformed_password_change_is_400_and_keeps_the_password(api, viewer, password, body):
    client = bearer(token_sign_in(api, "vera", password)["access"])
    response = client.post(CHANGE, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]
    viewer.refresh_from_db()
    assert viewer.check_password(password)


def test_registration_unicode_and_control_characters(api):
    for n, username in enumerate(["new\x00bie", "new\nbie", "new bie", "<script>", "a" * 151, "\u202eevil"]):
        response = api.post(REGISTER, registration(username=username, email=f"n{n}@hospital.example"), format="json")
        assert response.status_code == 400, username
        assert "username" in response.json()
    assert User.objects.count() == 0


def test_pending_account_gets_no_reset_mail(api, mailoutbox):
    api.post(REGISTER, registration(), format="json")
    mail.outbox.clear()
    assert api.post(RESET, {"email": "newbie@hospital.example"}, format="json").status_code == 200
    assert mailoutbox == []


# --------------------------------------------------------------------------------------
# Browser sessions on the API (AccountStateMiddleware skips /api/, so the API's own
# authentication must refuse what the middleware refuses for pages)
# --------------------------------------------------------------------------------------
def test_admin_locked_users_session_cannot_use_the_api(client, viewer):
    client.force_login(viewer)
    assert client.get(ME).status_code == 200
    services.user_lock(actor=None, user=viewer)
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["detail"]
    assert client.patch(ME, {"theme": "dark"}, content_type="application/json").status_code == 401


def test_lock_that_was_set_without_the_service_still_stops_session_api_access(client, viewer):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(viewer)
    User.objects.filter(pk=viewer.pk).update(locked_until=timezone.now() + timedelta(hours=1))
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["detail"] == "This account is locked."


def test_password_only_session_ends_when_two_factor_is_turned_on_elsewhere(viewer, password, mailoutbox):
    from django.test import Client

    stolen = Client()
    stolen.post("/accounts/login/", {"username": "vera", "password": password})
    assert stolen.get(ME).status_code == 200
    owner = Client()
    owner.post("/accounts/login/", {"username": "vera", "password": password})
    assert owner.post("/accounts/security/email/").status_code == 302
    assert stolen.get(ME).status_code == 200  # not a factor until its code is entered
    assert owner.post("/accounts/security/email/verify/", {"code": sent_code(mailoutbox)}).status_code == 200
    assert stolen.get(ME).status_code == 401
    assert stolen.get("/accounts/profile/").status_code == 302
    # The browser that turned it on stays signed in, on pages and the API.
    assert owner.get("/accounts/profile/").status_code == 200
    assert owner.get(ME).status_code == 200


def test_revoking_tokens_also_ends_browser_sessions(client, viewer, staff_client):
    from django.test import Client

    browser = Client()
    browser.force_login(viewer)
    staff_client.post("/admin/accounts/user/", {"action": "revoke_tokens", "_selected_action": [viewer.pk]})
    assert browser.get(ME).status_code == 401
    assert browser.get("/accounts/profile/").status_code == 302
