"""Self-registration (API and page) and the approval that activates an account."""

import struct
import zlib

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import roles, services
from audit.models import AuditEvent
from tests.media import TINY_PDF

pytestmark = pytest.mark.django_db
User = get_user_model()
REGISTER = "/api/v1/auth/register/"


def body(**overrides):
    data = {
        "username": "newdoc",
        "email": "newdoc@hospital.example",
        "password": "Str0ng!Passw0rd",
        "full_name": "New Doctor",
        "employee_id": "E1234",
        "mobile": "+91 98123 45678",
    }
    data.update(overrides)
    return data


def tiny_png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"\x00\xff\xff\xff"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def register_with_document(client, upload, **overrides):
    """The registration page: ID documents are attached there (the API takes JSON only)."""
    data = body(**overrides)
    password = data.pop("password")
    form = {**data, "user_type": "employee", "password1": password, "password2": password, "accept_terms": "on"}
    return client.post("/accounts/register/", {**form, "id_document": upload})


def document_errors(response) -> str:
    return " ".join(response.context["form"].errors["id_document"])


def test_strong_password_registers_an_inactive_pending_account(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(REGISTER, body(), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    user = User.objects.get(username="newdoc")
    assert not user.is_active
    assert user.approval_status == "pending"
    assert user.mobile == "+919812345678"  # normalised to E.164
    assert user.roles == []
    assert AuditEvent.objects.filter(event="registration", target_user=user).exists()
    assert any("registration" in m.subject for m in mail.outbox)


def test_a_registration_is_announced_to_whoever_may_approve_it(api, make_user, django_capture_on_commit_callbacks):
    """Those ``has_perm("accounts.approve_registration")`` is true for, if active: no Viewer, no inactive Admin."""
    from django.contrib.auth.models import Permission

    make_user(*roles.ROLES, username="adam")
    make_user(*roles.ROLES, username="gone", is_active=False)
    make_user(username="root", is_superuser=True)
    make_user(roles.VIEWER, roles.EDITOR, roles.APPROVER, username="vera")
    granted = make_user(roles.VIEWER, username="dora")
    granted.user_permissions.add(Permission.objects.get(codename="approve_registration"))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(REGISTER, body(), format="json").status_code == 201
    told = sorted(address for m in mail.outbox if "awaits approval" in m.subject for address in m.to)
    assert told == ["adam@hospital.example", "dora@hospital.example", "root@hospital.example"]


def test_weak_password_is_rejected_with_each_rule(api):
    response = api.post(REGISTER, body(password="weak"), format="json")
    assert response.status_code == 400
    messages = " ".join(response.json()["password"])
    for rule in ["at least 10", "upper-case", "digit", "symbol"]:
        assert rule in messages
    assert not User.objects.filter(username="newdoc").exists()


@pytest.mark.parametrize(
    "field,value",
    [("email", "not-an-email"), ("username", "bad name!"), ("mobile", "12"), ("user_type", "alien"), ("username", "")],
)
def test_bad_fields_are_400_naming_the_field(api, field, value):
    response = api.post(REGISTER, body(**{field: value}), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert User.objects.count() == 0


def test_email_differing_only_in_case_cannot_register_or_overwrite(api, viewer, password):
    before = User.objects.get(pk=viewer.pk)
    response = api.post(REGISTER, body(username="other", email="VERA@HOSPITAL.EXAMPLE"), format="json")
    assert response.status_code == 400
    assert "email" in response.json()
    after = User.objects.get(pk=viewer.pk)
    assert (after.password, after.email, after.username, after.is_active) == (
        before.password,
        before.email,
        before.username,
        before.is_active,
    )


@pytest.mark.parametrize("field,value", [("username", "VERA"), ("employee_id", "EMP-1"), ("mobile", "+919812345678")])
def test_existing_account_is_never_overwritten(api, make_user, field, value):
    existing = make_user(roles.VIEWER, username="vera", employee_id="EMP-1", mobile="+919812345678")
    original_hash = existing.password
    response = api.post(REGISTER, body(**{field: value}), format="json")
    assert response.status_code == 400
    assert field in response.json()
    existing.refresh_from_db()
    assert existing.password == original_hash
    assert existing.email == "vera@hospital.example"


def test_id_document_pdf_is_stored_privately(client, settings):
    upload = SimpleUploadedFile("id.pdf", TINY_PDF, content_type="application/pdf")
    response = register_with_document(client, upload)
    assert response.status_code == 302, response.content
    user = User.objects.get(username="newdoc")
    path = user.id_document.path
    assert path.startswith(str(settings.MEDIA_ROOT / "private" / "id-documents"))
    with open(path, "rb") as stored:
        assert stored.read() == TINY_PDF
    assert "id.pdf" not in path  # stored under a random name


def test_id_document_png_is_accepted(client):
    upload = SimpleUploadedFile("id.png", tiny_png(), content_type="image/png")
    assert register_with_document(client, upload).status_code == 302


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("id.pdf", b"MZ\x90\x00 this is an exe" * 10, "not a PDF"),
        ("id.exe", TINY_PDF, "PDF, PNG or JPEG"),
        ("id", TINY_PDF, "PDF, PNG or JPEG"),
        ("id.png", TINY_PDF, "not a PNG"),
        ("id.pdf", b"", "empty"),
    ],
)
def test_bad_id_documents_are_rejected_and_leave_nothing(client, settings, name, content, message):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    response = register_with_document(client, upload)
    assert response.status_code == 200
    assert message in document_errors(response)
    assert User.objects.count() == 0
    folder = settings.MEDIA_ROOT / "private" / "id-documents"
    assert not folder.exists() or not any(folder.iterdir())


def test_oversized_id_document_is_rejected(client, settings):
    settings.ID_DOCUMENT_MAX_BYTES = 1024
    upload = SimpleUploadedFile("id.pdf", TINY_PDF + b"0" * 2048, content_type="application/pdf")
    response = register_with_document(client, upload)
    assert response.status_code == 200
    assert "larger than" in document_errors(response)


def test_pending_account_cannot_sign_in_until_approved(api, admin_user, django_capture_on_commit_callbacks):
    api.post(REGISTER, body(), format="json")
    user = User.objects.get(username="newdoc")
    refused = api.post("/api/v1/auth/token/", {"username": "newdoc", "password": "Str0ng!Passw0rd"}, format="json")
    assert refused.status_code == 403
    assert "awaiting approval" in refused.json()["detail"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.user_approve(actor=admin_user, user=user)
    user.refresh_from_db()
    assert user.is_active and user.approval_status == "approved"
    assert user.roles == [roles.VIEWER]
    assert [m.to for m in mail.outbox] == [["newdoc@hospital.example"]]
    ok = api.post("/api/v1/auth/token/", {"username": "newdoc", "password": "Str0ng!Passw0rd"}, format="json")
    assert ok.status_code == 200
    assert AuditEvent.objects.filter(event="approval", target_user=user, actor=admin_user).exists()


def test_rejected_account_is_told_so(api, admin_user):
    api.post(REGISTER, body(), format="json")
    user = User.objects.get(username="newdoc")
    services.user_reject(actor=admin_user, user=user, reason="Not hospital staff")
    response = api.post("/api/v1/auth/token/", {"username": "newdoc", "password": "Str0ng!Passw0rd"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "rejected"


def test_registration_closed(api, settings):
    settings.REGISTRATION_OPEN = False
    assert api.post(REGISTER, body(), format="json").status_code == 403


def test_registration_cannot_set_privileged_fields(api):
    response = api.post(
        REGISTER, body(is_active=True, is_superuser=True, approval_status="approved", roles=["Admin"]), format="json"
    )
    assert response.status_code == 201
    user = User.objects.get(username="newdoc")
    assert not user.is_active and not user.is_superuser and user.approval_status == "pending"


def test_concurrent_duplicate_is_caught_by_the_database(api, monkeypatch):
    """If the uniqueness pre-check is raced, the case-insensitive constraint still holds."""
    monkeypatch.setattr(services, "_unique_errors", lambda **kwargs: {})
    assert api.post(REGISTER, body(), format="json").status_code == 201
    again = api.post(
        REGISTER, body(username="NEWDOC", email="x@hospital.example", employee_id="E9", mobile=""), format="json"
    )
    assert again.status_code == 400
    assert User.objects.filter(username__iexact="newdoc").count() == 1


@pytest.mark.parametrize("page", ["/accounts/login/", "/"])
def test_no_register_link_when_registration_is_closed(client, settings, page):
    """LOCAL_LOGIN=False closes registration (settings); no page may still offer it."""
    assert 'href="/accounts/register/"' in client.get(page, follow=True).content.decode()
    settings.REGISTRATION_OPEN = False
    assert 'href="/accounts/register/"' not in client.get(page, follow=True).content.decode()
