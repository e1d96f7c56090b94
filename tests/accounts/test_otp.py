"""Second factors: hashed single-use codes, expiry, throttling, backup codes, SMS gateway."""

import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db import connection
from django.utils import timezone

from accounts import otp, roles
from accounts.models import BackupCodeDevice, EmailOTPDevice
from accounts.sms import HTTPBackend, SMSError
from tests.factories import EmailOTPDeviceFactory, SMSOTPDeviceFactory

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token/"
OTP = "/api/v1/auth/token/otp/"


def ticket_for(api, username, password):
    response = api.post(TOKEN, {"username": username, "password": password}, format="json")
    assert response.json()["otp_required"] is True
    return response.json()["otp_token"]


def code_in(text):
    return re.search(r"\b(\d{6})\b", text).group(1)


def test_email_codes_are_stored_only_as_hashes(api, viewer, password, mailoutbox):
    device = EmailOTPDeviceFactory(user=viewer)
    ticket_for(api, "vera", password)
    code = code_in(mailoutbox[-1].body)
    device.refresh_from_db()
    assert device.code_hash and code not in device.code_hash
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_emailotpdevice")
        assert code not in repr(cursor.fetchall())


def test_expired_email_code_is_refused(api, viewer, password, mailoutbox):
    device = EmailOTPDeviceFactory(user=viewer)
    ticket = ticket_for(api, "vera", password)
    code = code_in(mailoutbox[-1].body)
    EmailOTPDevice.objects.filter(pk=device.pk).update(valid_until=timezone.now() - timedelta(seconds=1))
    response = api.post(OTP, {"otp_token": ticket, "code": code}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_otp"


def test_wrong_code_throttles_the_next_try(api, viewer, password, mailoutbox):
    EmailOTPDeviceFactory(user=viewer)
    ticket = ticket_for(api, "vera", password)
    code = code_in(mailoutbox[-1].body)
    assert api.post(OTP, {"otp_token": ticket, "code": "000000"}, format="json").status_code == 401
    throttled = api.post(OTP, {"otp_token": ticket, "code": code}, format="json")
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "otp_throttled"


def test_backup_codes_work_once_each(api, admin_user, password):
    codes = otp.backup_codes_regenerate(user=admin_user)
    assert len(codes) == 10 and len(set(codes)) == 10
    ticket = ticket_for(api, "ada", password)
    assert api.post(OTP, {"otp_token": ticket, "code": codes[0]}, format="json").status_code == 200
    again = api.post(OTP, {"otp_token": ticket_for(api, "ada", password), "code": codes[0]}, format="json")
    assert again.status_code == 401
    device = BackupCodeDevice.objects.get(user=admin_user)
    assert device.codes.count() == 9
    stored = list(device.codes.values_list("code_hash", flat=True))
    assert all(code.replace("-", "") not in stored for code in codes)


def test_regenerating_backup_codes_invalidates_the_old_ones(api, admin_user, password):
    old = otp.backup_codes_regenerate(user=admin_user)
    otp.backup_codes_regenerate(user=admin_user)
    response = api.post(OTP, {"otp_token": ticket_for(api, "ada", password), "code": old[1]}, format="json")
    assert response.status_code == 401


def test_sms_code_login(api, make_user, password, sms_outbox):
    user = make_user(roles.VIEWER, username="sam", mobile="+919812345678")
    SMSOTPDeviceFactory(user=user)
    ticket = ticket_for(api, "sam", password)
    number, message = sms_outbox[-1]
    assert number == "+919812345678"
    assert api.post(OTP, {"otp_token": ticket, "code": code_in(message)}, format="json").status_code == 200


def test_codes_are_never_logged(api, viewer, password, mailoutbox, caplog):
    EmailOTPDeviceFactory(user=viewer)
    with caplog.at_level("DEBUG"):
        ticket = ticket_for(api, "vera", password)
        code = code_in(mailoutbox[-1].body)
        api.post(OTP, {"otp_token": ticket, "code": code}, format="json")
    assert code not in caplog.text


def test_last_factor_cannot_be_removed_when_the_role_requires_one(admin_user):
    from django.core.exceptions import ValidationError

    device = admin_user.totpdevice_set.get()
    with pytest.raises(ValidationError):
        otp.device_remove(user=admin_user, persistent_id=device.persistent_id)


def test_viewer_can_remove_their_only_factor(viewer):
    device = otp.email_device_add(user=viewer)
    assert otp.device_remove(user=viewer, persistent_id=device.persistent_id)
    assert not EmailOTPDevice.objects.filter(user=viewer).exists()


def test_other_users_device_cannot_be_removed(viewer, admin_user):
    device = admin_user.totpdevice_set.get()
    assert otp.device_remove(user=viewer, persistent_id=device.persistent_id) is False
    assert admin_user.totpdevice_set.exists()


class _Gateway(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.headers["Authorization"], json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Gateway.received = []
    _Gateway.status = 200
    settings.SMS_API_URL = f"http://127.0.0.1:{server.server_port}/sms"
    settings.SMS_API_TOKEN = "gateway-token"
    yield _Gateway
    server.shutdown()


def test_http_sms_backend_posts_json_with_a_bearer_token(gateway):
    HTTPBackend().send("+919812345678", "123456 is your code")
    assert gateway.received == [("Bearer gateway-token", {"mobile": "+919812345678", "message": "123456 is your code"})]


def test_http_sms_backend_reports_gateway_errors(gateway):
    gateway.status = 503
    with pytest.raises(SMSError):
        HTTPBackend().send("+919812345678", "x")


def test_http_sms_backend_needs_configuration(settings):
    settings.SMS_API_URL = ""
    with pytest.raises(SMSError):
        HTTPBackend().send("+919812345678", "x")
