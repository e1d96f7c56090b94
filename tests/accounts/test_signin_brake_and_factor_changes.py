"""
Security hardening of the accounts app (issue items 4, 6, 7 and API registration):

- an account-wide sign-in brake that guesses spread over many addresses and doors cannot escape;
- adding or removing a second factor needs a fresh re-authentication, and an SMS or e-mail
  factor is confirmed only by a code sent to it;
- production refuses to start with an e-mail backend that prints or drops mail;
- API registration takes JSON only.
"""

import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.authentication import REAUTH_SESSION_KEY
from accounts.models import BackupCodeDevice, EmailOTPDevice, SMSOTPDevice
from audit.models import AuditEvent
from tests.factories import EmailOTPDeviceFactory
from tests.media import TINY_PDF
from tests.signin import otp_client, totp_code

pytestmark = pytest.mark.django_db
User = get_user_model()
Event = AuditEvent.Event
ROOT = Path(__file__).resolve().parents[2]

TOKEN = "/api/v1/auth/token/"
TOKEN_OTP = "/api/v1/auth/token/otp/"
LOGIN = "/accounts/login/"
REAUTH = "/accounts/security/confirm/"
WRONG = "Wrong-pass-123!"


def api_attempt(api, username, password, ip):
    return api.post(TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip)


def page_attempt(client, username, password, ip):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def spread(n: int, net: str = "10.9") -> str:
    """The address of guess ``n``: four guesses per address, under the per-address lockout of five."""
    return f"{net}.0.{n // 4 + 1}"


def brake(api, username="vera", net="10.9", count=20):
    """``count`` wrong passwords for ``username`` on the API, four per address; the last answer."""
    return [api_attempt(api, username, WRONG, spread(n, net)) for n in range(count)][-1]


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


# --------------------------------------------------------------------------------------
# Item 4: the account-wide brake
# --------------------------------------------------------------------------------------
def test_a_hundred_guesses_from_25_addresses_do_not_let_guess_101_in(api, viewer, password):
    statuses = [api_attempt(api, "vera", WRONG, spread(n)).status_code for n in range(100)]
    assert statuses[:19] == [401] * 19
    assert statuses[19:] == [429] * 81
    # No address was locked by the per-address rule (four failures each), yet guess 101 fails.
    assert AccessAttempt.objects.filter(username="vera", failures_since_start__gte=5).count() == 0
    right = api_attempt(api, "vera", password, "10.9.1.1")
    assert right.status_code == 429
    assert right.json()["code"] == "throttled"
    assert "access" not in right.json()


def test_failures_on_both_doors_add_up_and_the_brake_holds_on_both(
    client, api, viewer, password, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(19):
            if n % 2:
                assert page_attempt(client, "vera", WRONG, spread(n)).status_code == 200
            else:
                assert api_attempt(api, "Vera@Hospital.Example", WRONG, spread(n)).status_code == 401
        twentieth = page_attempt(client, "VERA", WRONG, spread(19))
        page = page_attempt(client, "vera", password, "10.9.9.9")
        token = api_attempt(api, "vera", password, "10.9.9.8")
    assert twentieth.status_code == 429
    assert page.status_code == 429
    assert "paused" in page.content.decode()
    assert 14 * 60 < int(page["Retry-After"]) <= 15 * 60
    assert "_auth_user_id" not in client.session
    assert token.status_code == 429
    assert token.json()["code"] == "throttled"
    assert "paused" in token.json()["detail"]
    assert 14 * 60 < int(token["Retry-After"]) <= 15 * 60
    # One audit event and one e-mail for the whole attack, not one per attempt.
    throttled = AuditEvent.objects.filter(event=Event.LOGIN_THROTTLED)
    assert [(e.target_user_id, e.detail["failures"]) for e in throttled] == [(viewer.pk, 20)]
    assert [message.to for message in mail.outbox] == [["vera@hospital.example"]]
    body = mail.outbox[0].body
    assert "20 failed sign-in attempts" in body and "5 different addresses" in body
    assert WRONG not in body and password not in body
    assert not AuditEvent.objects.filter(event=Event.LOGIN_SUCCESS).exists()


def test_the_right_password_during_the_brake_neither_signs_in_nor_resets_a_counter(api, viewer, password):
    assert brake(api).status_code == 429
    # From an address the attack used: its per-address count (four) must survive.
    right = api_attempt(api, "vera", password, spread(0))
    assert right.status_code == 429
    assert right.json()["code"] == "throttled"
    assert AccessAttempt.objects.get(username="vera", ip_address=spread(0)).failures_since_start == 4
    viewer.refresh_from_db()
    assert viewer.last_login is None
    assert not AuditEvent.objects.filter(event=Event.LOGIN_SUCCESS).exists()
    # Fifteen minutes later the brake is over and the holder signs in.
    AuditEvent.objects.update(created_at=F("created_at") - timedelta(minutes=15, seconds=1))
    assert api_attempt(api, "vera", password, "10.9.9.9").status_code == 200


def test_second_factor_guesses_count_and_the_code_step_is_paused(api, admin_user, password):
    ticket = api_attempt(api, "ada", password, "10.8.0.1").json()["otp_token"]
    answers = [
        api.post(TOKEN_OTP, {"otp_token": ticket, "code": "000000"}, format="json", REMOTE_ADDR=spread(n, "10.7"))
        for n in range(20)
    ]
    assert answers[-1].status_code == 429
    assert answers[-1].json()["code"] == "throttled"
    code = totp_code(admin_user.totpdevice_set.get())
    right = api.post(TOKEN_OTP, {"otp_token": ticket, "code": code}, format="json", REMOTE_ADDR="10.7.9.9")
    assert right.status_code == 429
    assert right.json()["code"] == "throttled"
    assert api_attempt(api, "ada", password, "10.7.9.8").json()["code"] == "throttled"


def test_an_unknown_username_gets_the_same_answer_and_no_e_mail(api, viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        real = brake(api, "vera", "10.9")
        ghost = brake(api, "ghost", "10.6")
    assert real.status_code == ghost.status_code == 429
    assert real.json()["code"] == ghost.json()["code"] == "throttled"
    assert re.sub(r"\d", "", real.json()["detail"]) == re.sub(r"\d", "", ghost.json()["detail"])
    assert [message.to for message in mail.outbox] == [["vera@hospital.example"]]
    assert AuditEvent.objects.filter(event=Event.LOGIN_THROTTLED, target_user=None, username="ghost").count() == 1


def test_an_admin_unlock_lifts_the_brake(api, viewer, password, admin_user):
    assert brake(api).status_code == 429
    services.user_unlock(actor=admin_user, user=viewer)
    assert api_attempt(api, "vera", password, "10.9.9.9").status_code == 200


# --------------------------------------------------------------------------------------
# Item 6: re-authentication for second factors; codes confirm SMS and e-mail
# --------------------------------------------------------------------------------------
def sign_in(client, username, password):
    response = client.post(LOGIN, {"username": username, "password": password})
    assert response.status_code == 302
    return client


def factors_of(user) -> list:
    return [
        *TOTPDevice.objects.filter(user=user),
        *EmailOTPDevice.objects.filter(user=user),
        *SMSOTPDevice.objects.filter(user=user),
        *BackupCodeDevice.objects.filter(user=user),
    ]


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/accounts/security/sms/", {"number": "+919812345678"}),
        ("post", "/accounts/security/email/", {}),
        ("get", "/accounts/security/app/", None),
        ("post", "/accounts/security/backup-codes/", {}),
    ],
)
def test_a_session_alone_cannot_add_a_factor(client, viewer, sms_outbox, method, path, data):
    client.force_login(viewer)
    response = getattr(client, method)(path, data)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{REAUTH}?next=")
    assert factors_of(viewer) == []
    assert sms_outbox == [] and mail.outbox == []


def test_a_session_alone_cannot_remove_a_factor_or_renew_backup_codes(client, viewer):
    device = EmailOTPDeviceFactory(user=viewer)
    otp_client(viewer, client, device)  # passed the second factor, but no recent password check
    removed = client.post("/accounts/security/remove/", {"device": device.persistent_id})
    assert removed.status_code == 302
    assert removed["Location"] == f"{REAUTH}?{urlencode({'next': '/accounts/security/'})}"
    assert EmailOTPDevice.objects.filter(pk=device.pk).exists()
    renewed = client.post("/accounts/security/backup-codes/")
    assert renewed["Location"].startswith(f"{REAUTH}?next=")
    assert not BackupCodeDevice.objects.filter(user=viewer).exists()
    assert not AuditEvent.objects.filter(event__in=[Event.OTP_REMOVE, Event.OTP_ENROL]).exists()


def test_re_authentication_with_the_password(client, viewer, password):
    client.force_login(viewer)
    target = f"{REAUTH}?{urlencode({'next': '/accounts/security/app/'})}"
    page = client.get(target)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'for="id_password"' in html and 'autocomplete="current-password"' in html
    wrong = client.post(target, {"password": WRONG})
    assert wrong.status_code == 200
    assert 'aria-invalid="true"' in wrong.content.decode()
    assert "That password is not correct." in wrong.content.decode()
    assert AuditEvent.objects.filter(event=Event.LOGIN_FAILURE, target_user=viewer).count() == 1
    right = client.post(target, {"password": password})
    assert right.status_code == 302
    assert right["Location"] == "/accounts/security/app/"
    assert client.get("/accounts/security/app/").status_code == 200


def test_re_authentication_with_a_code_from_an_existing_factor(client, admin_user):
    device = admin_user.totpdevice_set.get()
    otp_client(admin_user, client, device)  # passed the second factor, but no recent password check
    assert client.post("/accounts/security/backup-codes/")["Location"].startswith(f"{REAUTH}?next=")
    confirmed = client.post(REAUTH + "?next=/accounts/security/", {"code": totp_code(device)})
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/accounts/security/"
    renewed = client.post("/accounts/security/backup-codes/")
    assert renewed.status_code == 200
    assert len(renewed.context["backup_codes"]) == 10


def test_wrong_passwords_on_the_confirm_page_lock_out_and_sign_out(client, viewer):
    client.force_login(viewer)
    answers = [client.post(REAUTH, {"password": WRONG}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert "_auth_user_id" not in client.session


def test_re_authentication_lasts_reauth_seconds(client, viewer, password, settings):
    sign_in(client, "vera", password)
    assert client.get("/accounts/security/app/").status_code == 200
    session = client.session
    session[REAUTH_SESSION_KEY] = time.time() - settings.REAUTH_SECONDS - 1
    session.save()
    assert client.get("/accounts/security/app/")["Location"].startswith(f"{REAUTH}?next=")


def test_first_time_set_up_right_after_signing_in_asks_no_second_password(client, password, editor):
    assert sign_in(client, "ed", password).get("/")["Location"] == "/accounts/security/"
    assert client.get("/accounts/security/app/").status_code == 200
    assert client.get("/accounts/security/sms/").status_code == 200


def test_sms_is_confirmed_only_by_the_code_sent_to_it_and_issues_backup_codes(client, viewer, password, sms_outbox):
    sign_in(client, "vera", password)
    form = client.get("/accounts/security/sms/")
    assert 'for="id_number"' in form.content.decode()
    sent = client.post("/accounts/security/sms/", {"number": "+91 98123 45678"})
    assert sent.status_code == 302
    assert sent["Location"] == "/accounts/security/sms/verify/"
    device = SMSOTPDevice.objects.get(user=viewer)
    assert (device.number, device.confirmed) == ("+919812345678", False)
    [(number, message)] = sms_outbox
    assert number == "+919812345678"
    code = code_in(message)
    page = client.get("/accounts/security/sms/verify/")
    assert page.status_code == 200 and 'for="id_code"' in page.content.decode()
    wrong = client.post("/accounts/security/sms/verify/", {"code": "111111" if code != "111111" else "222222"})
    assert wrong.status_code == 200
    assert 'aria-invalid="true"' in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not AuditEvent.objects.filter(event=Event.OTP_ENROL).exists()
    device.throttle_reset()  # the failure makes the next try wait a second; skip the wait
    done = client.post("/accounts/security/sms/verify/", {"code": code})
    assert done.status_code == 200
    assert len(done.context["backup_codes"]) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert BackupCodeDevice.objects.get(user=viewer).codes.count() == 10
    enrolled = AuditEvent.objects.filter(event=Event.OTP_ENROL, target_user=viewer)
    assert sorted(e.detail["method"] for e in enrolled) == ["backup", "sms"]
    assert client.get("/accounts/profile/").status_code == 200  # this browser stays signed in


def test_e_mail_codes_are_confirmed_only_by_the_code_sent(client, viewer, password):
    sign_in(client, "vera", password)
    sent = client.post("/accounts/security/email/")
    assert sent.status_code == 302
    assert sent["Location"] == "/accounts/security/email/verify/"
    device = EmailOTPDevice.objects.get(user=viewer)
    assert not device.confirmed
    [message] = mail.outbox
    assert message.to == ["vera@hospital.example"]
    page = client.get("/accounts/security/email/verify/").content.decode()
    assert "vera@hospital.example" in page
    done = client.post("/accounts/security/email/verify/", {"code": code_in(message.body)})
    assert done.status_code == 200
    assert len(done.context["backup_codes"]) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(event=Event.OTP_ENROL, target_user=viewer, detail__method="email").count() == 1


# --------------------------------------------------------------------------------------
# The first second factor: one rule for an authenticator app, e-mail and SMS
# --------------------------------------------------------------------------------------
def enrol_app(client, sms_outbox):
    client.get("/accounts/security/app/")
    device = TOTPDevice.objects.get(confirmed=False)
    return client.post("/accounts/security/app/", {"code": totp_code(device)})


def enrol_email(client, sms_outbox):
    client.post("/accounts/security/email/")
    return client.post("/accounts/security/email/verify/", {"code": code_in(mail.outbox[-1].body)})


def enrol_sms(client, sms_outbox):
    client.post("/accounts/security/sms/", {"number": "+91 98123 45678"})
    return client.post("/accounts/security/sms/verify/", {"code": code_in(sms_outbox[-1][1])})


@pytest.mark.parametrize("enrol", [enrol_app, enrol_email, enrol_sms])
def test_a_first_second_factor_ends_password_only_sign_ins_and_brings_backup_codes(
    client, api, viewer, password, sms_outbox, enrol
):
    elsewhere = sign_in(Client(), "vera", password)
    tokens = api.post(TOKEN, {"username": "vera", "password": password}, format="json").json()
    done = enrol(sign_in(client, "vera", password), sms_outbox)
    assert done.status_code == 200
    assert len(done.context["backup_codes"]) == 10
    assert client.get("/accounts/profile/").status_code == 200  # this browser stays signed in
    assert elsewhere.get("/accounts/profile/").status_code == 302
    assert api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/api/v1/auth/me/").status_code == 401
    revoked = AuditEvent.objects.get(event=Event.TOKEN_REVOKED, target_user=viewer)
    assert (revoked.actor, revoked.detail) == (viewer, {"reason": "second_factor_added"})


def test_a_further_second_factor_ends_nothing_and_keeps_the_backup_codes(client, viewer, password, sms_outbox):
    first = enrol_email(sign_in(client, "vera", password), sms_outbox)
    viewer.refresh_from_db()  # the first factor bumped its session hash
    elsewhere = otp_client(viewer, Client(), EmailOTPDevice.objects.get(user=viewer))
    codes = BackupCodeDevice.objects.get(user=viewer).codes.values_list("code_hash", flat=True)
    kept = set(codes)
    second = enrol_sms(client, sms_outbox)
    assert (len(first.context["backup_codes"]), second.context["backup_codes"]) == (10, [])
    assert set(codes) == kept
    assert elsewhere.get("/accounts/profile/").status_code == 200
    assert client.get("/accounts/profile/").status_code == 200
    assert AuditEvent.objects.filter(event=Event.TOKEN_REVOKED).count() == 1


# --------------------------------------------------------------------------------------
# Item 7: production refuses an e-mail backend that prints or drops mail
# --------------------------------------------------------------------------------------
def run_manage(args, tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "DEBUG", "EMAIL_"))}
    base.pop("DATABASE_URL", None)
    base.update(
        DJANGO_ENV="production",
        SECRET_KEY="x" * 20 + "production-secret-key-with-enough-entropy-0123456789",
        ALLOWED_HOSTS="videos.hospital.example",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    base.update({key: value for key, value in env.items() if value is not None})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("email_url", [None, "consolemail://", "filemail:///tmp/svl-mail"])
def test_production_refuses_to_start_with_an_e_mail_backend_that_sends_nothing(tmp_path, email_url):
    result = run_manage(["check"], tmp_path, EMAIL_URL=email_url)
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr


def test_production_takes_a_dummy_backend_only_when_asked_to(tmp_path):
    refused = run_manage(["check"], tmp_path, EMAIL_URL="dummymail://")
    assert refused.returncode != 0 and "EMAIL_ALLOW_UNSENT" in refused.stderr
    allowed = run_manage(["check"], tmp_path, EMAIL_URL="dummymail://", EMAIL_ALLOW_UNSENT="True")
    assert allowed.returncode == 0, allowed.stderr


# --------------------------------------------------------------------------------------
# Registration: JSON only on the API
# --------------------------------------------------------------------------------------
REGISTRATION = {"username": "newdoc", "email": "newdoc@hospital.example", "password": "Str0ng!Passw0rd"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (urlencode(REGISTRATION), "application/x-www-form-urlencoded"),
        (
            '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\nnewdoc\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
        ),
    ],
)
def test_api_registration_refuses_form_bodies(api, body, content_type):
    response = api.post("/api/v1/auth/register/", body, content_type=content_type)
    assert response.status_code == 415
    assert not User.objects.exists()
    assert api.post("/api/v1/auth/register/", REGISTRATION, format="json").status_code == 201


def test_api_registration_points_id_documents_to_the_page(api):
    response = api.post("/api/v1/auth/register/", {**REGISTRATION, "id_document": "aWQ="}, format="json")
    assert response.status_code == 400
    assert "/accounts/register/" in " ".join(response.json()["id_document"])
    assert not User.objects.exists()


def test_the_registration_page_still_takes_an_id_document(client):
    response = client.post(
        "/accounts/register/",
        {
            **{k: v for k, v in REGISTRATION.items() if k != "password"},
            "full_name": "New Doctor",
            "user_type": "general",
            "password1": "Str0ng!Passw0rd",
            "password2": "Str0ng!Passw0rd",
            "accept_terms": "on",
            "id_document": SimpleUploadedFile("id.pdf", TINY_PDF, content_type="application/pdf"),
        },
    )
    assert response.status_code == 302
    with User.objects.get(username="newdoc").id_document.open("rb") as stored:
        assert stored.read() == TINY_PDF
