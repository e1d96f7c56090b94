"""
Security review of the HTML account pages and Django admin: enumeration, session
fixation, CSRF, open redirects, IDOR, stored XSS, admin privilege escalation, CSV
injection and malformed input (never a 500).
"""

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import otp, roles, services
from accounts.models import EmailOTPDevice
from audit.models import AuditEvent
from tests.factories import EmailOTPDeviceFactory, SMSOTPDeviceFactory, TOTPDeviceFactory
from tests.media import TINY_PDF
from tests.signin import otp_client, totp_code

pytestmark = pytest.mark.django_db
User = get_user_model()

LOGIN = "/accounts/login/"
VERIFY = "/accounts/login/verify/"
WRONG = "Wrong-pass-123!"
NEW_PASSWORD = "Another-Strong-77?"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def change_form(user, **overrides):
    data = {
        "username": user.username,
        "email": user.email,
        "full_name": user.full_name,
        "employee_id": "",
        "mobile": "",
        "user_type": "employee",
        "is_active": "on",
        "roles": user.roles,
        "theme": "system",
        "autoplay_next": "on",
        "default_quality": "auto",
        "default_speed": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --------------------------------------------------------------------------------------
# Enumeration on the HTML login and reset
# --------------------------------------------------------------------------------------
def test_html_login_refusal_is_identical_for_every_kind_of_account(client, make_user, viewer):
    make_user(roles.VIEWER, username="gone", is_active=False)
    make_user(username="waiting", is_active=False, approval_status="pending")
    barred = make_user(roles.VIEWER, username="barred")
    services.user_lock(actor=None, user=barred)
    pages = {}
    for n, name in enumerate(["nobody", "vera", "gone", "waiting", "barred"]):
        response = client.post(LOGIN, {"username": name, "password": WRONG}, REMOTE_ADDR=f"10.8.0.{n}")
        assert response.status_code == 200
        pages[name] = _without_csrf(response.content.decode()).replace(f'value="{name}"', 'value="?"')
    assert "Invalid username or password." in pages["nobody"]
    for name, page in pages.items():
        assert page == pages["nobody"], name


def test_html_reset_request_redirects_the_same_way_for_anyone(client, viewer, make_user):
    make_user(username="waiting", is_active=False, approval_status="pending")
    for email in ["vera@hospital.example", "nobody@hospital.example", "waiting@hospital.example"]:
        response = client.post("/accounts/password/reset/", {"email": email})
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:password_reset_done")


# --------------------------------------------------------------------------------------
# Session fixation
# --------------------------------------------------------------------------------------
def test_session_key_is_rotated_by_a_password_sign_in(client, viewer, password):
    client.get(LOGIN)
    session = client.session
    session["planted"] = "by an attacker"
    session.save()
    planted_key = session.session_key
    client.cookies["sessionid"] = planted_key
    assert client.post(LOGIN, {"username": "vera", "password": password}).status_code == 302
    assert client.session.session_key != planted_key
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=planted_key).exists()


def test_session_key_is_rotated_at_each_step_of_a_two_factor_sign_in(client, admin_user, password):
    client.get(LOGIN)
    session = client.session
    session["planted"] = "x"
    session.save()
    planted_key = session.session_key
    client.cookies["sessionid"] = planted_key
    client.post(LOGIN, {"username": "ada", "password": password})
    after_password = client.session.session_key
    assert after_password != planted_key
    client.post(VERIFY, {"code": totp_code(admin_user.totpdevice_set.get())})
    assert client.session["_auth_user_id"] == str(admin_user.pk)
    assert client.session.session_key not in {planted_key, after_password}


# --------------------------------------------------------------------------------------
# CSRF on every state-changing HTML POST
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "data", "signed_in"),
    [
        (LOGIN, {"username": "vera", "password": "Correct-Horse-9!"}, False),
        ("/accounts/register/", {"username": "x"}, False),
        ("/accounts/password/reset/", {"email": "vera@hospital.example"}, False),
        ("/accounts/logout/", {}, True),
        ("/accounts/password/change/", {"old_password": "Correct-Horse-9!"}, True),
        ("/accounts/settings/", {"theme": "dark"}, True),
        ("/accounts/security/email/", {}, True),
        ("/accounts/security/sms/", {"number": "+919812345678"}, True),
        ("/accounts/security/backup-codes/", {}, True),
        ("/accounts/security/remove/", {"device": "x"}, True),
        ("/accounts/security/app/", {"code": "123456"}, True),
    ],
)
def test_html_posts_without_a_csrf_token_are_refused(viewer, path, data, signed_in):
    browser = Client(enforce_csrf_checks=True)
    if signed_in:
        browser.force_login(viewer)
    response = browser.post(path, data)
    assert response.status_code == 403
    assert "The form could not be sent" in response.content.decode()
    viewer.refresh_from_db()
    assert viewer.theme == "system"
    assert not EmailOTPDevice.objects.filter(user=viewer).exists()
    if path == LOGIN:
        assert "_auth_user_id" not in browser.session
    if path == "/accounts/logout/":
        assert browser.session["_auth_user_id"] == str(viewer.pk)


def test_admin_actions_need_the_csrf_token(admin_user, viewer):
    browser = otp_client(admin_user, Client(enforce_csrf_checks=True))
    response = browser.post("/admin/accounts/user/", {"action": "deactivate", "_selected_action": [viewer.pk]})
    assert response.status_code == 403
    viewer.refresh_from_db()
    assert viewer.is_active


# --------------------------------------------------------------------------------------
# Open redirects and reflected XSS through ``next``
# --------------------------------------------------------------------------------------
EVIL_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "https:evil.example",
    "http://testserver@evil.example/",
    "javascript:alert(1)",
    " //evil.example",
    "\t//evil.example",
    "/%2F%2Fevil.example",
    "https://testserver.evil.example/",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_login_next_never_leaves_the_site(client, viewer, password, evil):
    from urllib.parse import urlsplit

    response = client.post(f"{LOGIN}?next=x", {"username": "vera", "password": password, "next": evil})
    assert response.status_code == 302
    location = response["Location"]
    parts = urlsplit(location.replace("\\", "/"))
    assert (parts.scheme, parts.netloc) == ("", ""), location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example/", "/\\evil.example/"])
def test_next_kept_across_the_second_factor_never_leaves_the_site(client, admin_user, password, evil):
    client.post(LOGIN, {"username": "ada", "password": password, "next": evil})
    response = client.post(VERIFY, {"code": totp_code(admin_user.totpdevice_set.get())})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_signed_in_get_with_evil_next_stays_home(client, viewer):
    client.force_login(viewer)
    response = client.get(f"{LOGIN}?next=//evil.example/")
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_next_is_escaped_when_reflected_in_the_login_page(client):
    response = client.get(LOGIN, {"next": '"><script>alert(1)</script>'})
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --------------------------------------------------------------------------------------
# IDOR
# --------------------------------------------------------------------------------------
def test_device_removal_page_cannot_remove_another_users_device(client, viewer, password, admin_user):
    theirs = admin_user.totpdevice_set.get()
    client.post(LOGIN, {"username": "vera", "password": password})  # removing a method needs the password
    response = client.post("/accounts/security/remove/", {"device": theirs.persistent_id}, follow=True)
    assert response.status_code == 200
    assert "That sign-in method was not found." in response.content.decode()
    assert TOTPDevice.objects.filter(pk=theirs.pk).exists()


@pytest.fixture
def pending_with_document(db):
    user = User.objects.create_user(
        username="pending",
        email="pending@hospital.example",
        password="Str0ng!Passw0rd",
        is_active=False,
        approval_status="pending",
    )
    user.id_document.save("id.pdf", SimpleUploadedFile("id.pdf", TINY_PDF))
    return user


@pytest.mark.parametrize("role_names", [[roles.VIEWER, roles.EDITOR], [roles.VIEWER, roles.EDITOR, roles.APPROVER]])
def test_id_document_refused_to_staff_without_the_approval_permission(make_user, pending_with_document, role_names):
    staff = make_user(*role_names, username="staffer", is_staff=True)
    response = otp_client(staff).get(f"/admin/accounts/user/{pending_with_document.pk}/id-document/")
    assert response.status_code == 403


def test_id_document_refused_to_anonymous_and_viewers(client, viewer, pending_with_document):
    url = f"/admin/accounts/user/{pending_with_document.pk}/id-document/"
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")
    client.force_login(viewer)
    signed_in = client.get(url)
    assert signed_in.status_code == 302
    assert client.get(signed_in["Location"]).status_code == 403


def test_id_documents_are_not_under_a_served_url(staff_client, pending_with_document):
    name = pending_with_document.id_document.name
    for url in [f"/media/{name}", f"/media-is-never-served-directly/{name}", f"/static/{name}", f"/private/{name}"]:
        assert Client().get(url).status_code == 404
        assert staff_client.get(url).status_code == 404


# --------------------------------------------------------------------------------------
# Stored XSS
# --------------------------------------------------------------------------------------
def test_full_name_is_escaped_on_every_page_and_in_admin(make_user, staff_client):
    victim = make_user(roles.VIEWER, username="xss", full_name=XSS)
    client = Client()
    client.force_login(victim)
    for url in ["/", "/accounts/profile/", "/accounts/settings/", "/accounts/security/"]:
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", ""), url
    for url in ["/admin/accounts/user/", f"/admin/accounts/user/{victim.pk}/change/"]:
        html = staff_client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;alert" in html, url


def test_quoted_local_part_email_is_escaped_in_admin_queue_and_messages(client, api):
    """Django accepts '"<script>…"@host' as an e-mail address: it must be escaped wherever shown."""
    email = '"<script>alert(1)</script>"@hospital.example'
    response = api.post(
        "/api/v1/auth/register/",
        {"username": "quoted", "email": email, "password": "Str0ng!Passw0rd"},
        format="json",
    )
    assert response.status_code == 201
    user = User.objects.get(username="quoted")
    html = otp_client(make_admin()).get("/admin/accounts/pendingregistration/").content.decode()
    assert "quoted" in html
    assert "<script>alert(1)</script>" not in html
    User.objects.filter(pk=user.pk).update(is_active=True, approval_status="approved")
    client.post(LOGIN, {"username": "quoted", "password": "Str0ng!Passw0rd"})
    page = client.post("/accounts/security/email/", follow=True).content.decode()
    assert "We have sent a 6-digit code to" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page


def make_admin(**kwargs):
    from tests.factories import UserFactory

    return UserFactory(username=kwargs.pop("username", "boss"), roles=list(roles.ROLES), is_staff=True, **kwargs)


def test_failed_sign_in_username_is_escaped_in_the_audit_admin(staff_client):
    Client().post(LOGIN, {"username": XSS[:60], "password": WRONG})
    html = staff_client.get("/admin/audit/auditevent/").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


# --------------------------------------------------------------------------------------
# Audit CSV export: formula injection from attacker-controlled columns
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload", ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]
)
def test_audit_csv_neutralises_spreadsheet_formulas(staff_client, payload):
    Client().post(LOGIN, {"username": payload, "password": WRONG}, HTTP_USER_AGENT=payload)
    event = AuditEvent.objects.get(event="login_failure")
    response = staff_client.post("/admin/audit/auditevent/", {"action": "export_csv", "_selected_action": [event.pk]})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    username, user_agent = rows[1][4], rows[1][6]
    assert username == "'" + payload
    assert user_agent == "'" + payload


def test_audit_csv_leaves_ordinary_values_alone(staff_client, viewer):
    services.user_lock(actor=None, user=viewer)
    event = AuditEvent.objects.get(event="account_lock")
    response = staff_client.post("/admin/audit/auditevent/", {"action": "export_csv", "_selected_action": [event.pk]})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][1] == "account_lock"
    assert rows[1][3] == "vera"


# --------------------------------------------------------------------------------------
# Admin: escalation and robustness
# --------------------------------------------------------------------------------------
@pytest.fixture
def superuser(make_user):
    user = make_user(username="root", is_superuser=True, is_staff=True)
    TOTPDeviceFactory(user=user)
    return user


def test_admin_role_cannot_make_itself_superuser(staff_client, admin_user):
    data = change_form(admin_user, is_superuser="on")
    response = staff_client.post(f"/admin/accounts/user/{admin_user.pk}/change/", data)
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert not admin_user.is_superuser


def test_admin_role_cannot_edit_a_superuser(staff_client, superuser):
    data = change_form(superuser, email="attacker@evil.example")
    response = staff_client.post(f"/admin/accounts/user/{superuser.pk}/change/", data)
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.email == "root@hospital.example"


@pytest.mark.parametrize(
    "action", ["set_temporary_password", "reset_two_factor", "deactivate", "lock", "force_password_change"]
)
def test_admin_role_cannot_take_over_a_superuser_with_actions(staff_client, superuser, password, action):
    staff_client.post("/admin/accounts/user/", {"action": action, "_selected_action": [superuser.pk]}, follow=True)
    superuser.refresh_from_db()
    assert superuser.check_password(password)
    assert superuser.is_active
    assert not superuser.must_change_password
    assert superuser.locked_until is None
    assert superuser.totpdevice_set.exists()


def test_superuser_can_still_manage_superusers_and_grant_is_audited(superuser, viewer):
    browser = otp_client(superuser)
    data = change_form(viewer, is_superuser="on")
    response = browser.post(f"/admin/accounts/user/{viewer.pk}/change/", data)
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.is_superuser
    event = AuditEvent.objects.get(event="role_change", target_user=viewer)
    assert event.actor == superuser
    assert event.detail["added"] == ["superuser"]


def test_admin_role_sees_why_superusers_were_skipped_by_an_action(staff_client, superuser, viewer):
    response = staff_client.post(
        "/admin/accounts/user/", {"action": "lock", "_selected_action": [superuser.pk, viewer.pk]}, follow=True
    )
    html = response.content.decode()
    assert "Only a superuser can change superuser accounts; 1 skipped." in html
    assert "1 account(s) locked." in html
    viewer.refresh_from_db()
    assert viewer.is_admin_locked


def test_admin_cannot_give_a_user_someone_elses_email_as_username(staff_client, viewer, uploader):
    data = change_form(viewer, username="UMA@hospital.example")
    response = staff_client.post(f"/admin/accounts/user/{viewer.pk}/change/", data)
    assert response.status_code == 200
    assert "That username is taken." in response.content.decode()
    viewer.refresh_from_db()
    assert viewer.username == "vera"


def test_admin_cannot_create_a_user_whose_email_is_someone_elses_username(staff_client, make_user):
    make_user(roles.VIEWER, username="bob@hospital.example", email="robert@elsewhere.example")
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "robert",
            "email": "BOB@hospital.example",
            "full_name": "Robert",
            "usable_password": "true",
            "password1": "Str0ng!Passw0rd",
            "password2": "Str0ng!Passw0rd",
        },
    )
    assert response.status_code == 200
    assert "An account with this e-mail address already exists." in response.content.decode()
    assert not User.objects.filter(username="robert").exists()


def test_admin_deactivating_themselves_in_the_change_form_is_refused_not_a_500(staff_client, admin_user):
    data = change_form(admin_user, is_active=None)
    response = staff_client.post(f"/admin/accounts/user/{admin_user.pk}/change/", data)
    assert response.status_code == 200
    assert "You cannot deactivate your own account." in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_editor_cannot_open_users_in_admin(make_user, viewer):
    editor = make_user(roles.VIEWER, roles.EDITOR, username="ed", is_staff=True)
    browser = otp_client(editor)
    assert browser.get(f"/admin/accounts/user/{viewer.pk}/change/").status_code == 403
    assert (
        browser.post("/admin/accounts/user/", {"action": "deactivate", "_selected_action": [viewer.pk]}).status_code
        == 403
    )
    viewer.refresh_from_db()
    assert viewer.is_active


# --------------------------------------------------------------------------------------
# Password reset page: rate limit, single use
# --------------------------------------------------------------------------------------
def test_reset_confirm_page_is_rate_limited_even_for_bad_links(client, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "password_reset": "2/m"}
    url = "/accounts/password/reset/MQ/guess-token/"
    body = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post(url, body).status_code == 200
    assert client.post(url, body).status_code == 200
    limited = client.post(url, body)
    assert limited.status_code == 429
    assert limited.has_header("Retry-After")


def test_reset_link_works_once_on_the_html_page(client, viewer, mailoutbox):
    client.post("/accounts/password/reset/", {"email": "vera@hospital.example"})
    path = re.search(r"(/accounts/password/reset/[^/\s]+/[^/\s]+/)", mailoutbox[-1].body).group(1)
    body = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post(path, body).status_code == 302
    again = client.post(path, {"new_password1": "Third-Strong-88?", "new_password2": "Third-Strong-88?"})
    assert again.status_code == 200
    assert "invalid" in again.content.decode()
    viewer.refresh_from_db()
    assert viewer.check_password(NEW_PASSWORD)


# --------------------------------------------------------------------------------------
# Malformed input on the HTML pages: a page with a message, never a 500
# --------------------------------------------------------------------------------------
HUGE = "A" * 100_000


@pytest.mark.parametrize(
    "data",
    [
        {"username": "vera\x00", "password": "x"},
        {"username": "vera", "password": "x\x00y"},
        {"username": HUGE, "password": HUGE},
        {"username": "", "password": ""},
        {"username": ["a", "b"]},
    ],
    ids=["nul-user", "nul-pass", "huge", "empty", "list"],
)
def test_malformed_login_form_is_a_page_with_errors(client, viewer, data):
    response = client.post(LOGIN, data)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("code", ["\x00\x00\x00", HUGE, "١٢٣٤٥٦", "' OR 1=1 --", ""])
def test_malformed_otp_codes_are_refused_with_a_message(client, admin_user, password, code):
    client.post(LOGIN, {"username": "ada", "password": password})
    response = client.post(VERIFY, {"code": code})
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_otp_resend_with_a_made_up_method_is_harmless(client, viewer, password, mailoutbox):
    EmailOTPDeviceFactory(user=viewer)
    client.post(LOGIN, {"username": "vera", "password": password})
    response = client.post("/accounts/login/verify/resend/", {"method": "../../etc\x00"})
    assert response.status_code == 302
    assert response["Location"] == VERIFY


@pytest.mark.parametrize(
    "overrides",
    [
        {"username": "bad\x00name"},
        {"full_name": "nul\x00"},
        {"email": "not-an-email"},
        {"mobile": "call me"},
        {"employee_id": "E" * 31},
        {"user_type": "admin"},
        {"username": HUGE},
    ],
    ids=lambda o: next(iter(o)),
)
def test_malformed_registration_form_is_a_page_with_errors(client, overrides):
    data = {
        "username": "newbie",
        "email": "newbie@hospital.example",
        "full_name": "New Person",
        "employee_id": "E1",
        "mobile": "",
        "user_type": "employee",
        "password1": "Str0ng!Passw0rd",
        "password2": "Str0ng!Passw0rd",
        "accept_terms": "on",
        **overrides,
    }
    response = client.post("/accounts/register/", data)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password/reset/%00/%00/",
        "/accounts/password/reset/_w/x/",
        "/accounts/password/reset/MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw/x/",
        "/accounts/password/reset/" + "A" * 5000 + "/x/",
    ],
)
def test_hostile_reset_links_show_the_invalid_link_page(client, viewer, path):
    assert client.get(path).status_code == 200
    response = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 200
    assert "This password reset link is invalid" in response.content.decode()


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/accounts/password/change/", {"old_password": "x\x00", "new_password1": "y\x00", "new_password2": "y\x00"}),
        ("/accounts/password/change/", {"old_password": HUGE, "new_password1": HUGE, "new_password2": HUGE}),
        ("/accounts/settings/", {"theme": "<script>", "default_speed": "9", "default_quality": "8k"}),
        ("/accounts/settings/", {"full_name": "x\x00", "mobile": "12"}),
        ("/accounts/settings/", {"mobile": "+1" + "9" * 30}),
        ("/accounts/security/sms/", {"number": "nope"}),
        ("/accounts/security/sms/", {"number": "\x00"}),
        ("/accounts/security/app/", {"code": "\x00" * 40}),
    ],
)
def test_malformed_signed_in_forms_are_pages_with_errors(client, viewer, password, path, data):
    client.post(LOGIN, {"username": "vera", "password": password})  # the security pages need it fresh
    before = User.objects.filter(pk=viewer.pk).values().get()
    response = client.post(path, data)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert User.objects.filter(pk=viewer.pk).values().get() == before


def test_device_remove_with_garbage_is_a_message(client, viewer, password):
    client.post(LOGIN, {"username": "vera", "password": password})
    response = client.post("/accounts/security/remove/", {"device": "otp_totp.totpdevice/\x00" + "9" * 50}, follow=True)
    assert response.status_code == 200
    assert "That sign-in method was not found." in response.content.decode()


def test_html_sign_in_when_the_sms_gateway_is_down(client, make_user, password, settings):

    user = make_user(roles.VIEWER, username="sam")
    SMSOTPDeviceFactory(user=user)
    settings.SMS_BACKEND = "tests.security.test_account_attacks_api.FailingSMSBackend"
    response = client.post(LOGIN, {"username": "sam", "password": password}, follow=True)
    assert response.status_code == 200
    assert "The code could not be sent just now." in response.content.decode()


def test_enrolling_email_codes_signs_out_password_only_api_tokens_but_not_this_browser(
    client, api, viewer, password, mailoutbox
):
    tokens = api.post("/api/v1/auth/token/", {"username": "vera", "password": password}, format="json").json()
    client.post(LOGIN, {"username": "vera", "password": password})
    assert client.post("/accounts/security/email/").status_code == 302
    code = re.search(r"\b(\d{6})\b", mailoutbox[-1].body).group(1)
    assert client.post("/accounts/security/email/verify/", {"code": code}).status_code == 200
    assert client.get("/accounts/profile/").status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/api/v1/auth/me/").status_code == 401
    assert otp.backup_codes_regenerate is not None
