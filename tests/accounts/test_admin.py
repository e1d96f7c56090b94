"""Django admin for accounts: who sees what, actions through the services, read-only audit."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import services
from audit.models import AuditEvent
from tests.factories import AuditEventFactory, TOTPDeviceFactory
from tests.media import TINY_PDF
from tests.signin import otp_client

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def pending(db):
    user = User.objects.create_user(
        username="pending",
        email="pending@hospital.example",
        password="Str0ng!Passw0rd",
        is_active=False,
        approval_status="pending",
    )
    user.id_document.save("id.pdf", SimpleUploadedFile("id.pdf", TINY_PDF))
    return user


def test_editor_sees_admin_but_not_users_or_audit(client, editor):
    otp_client(editor, client)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 403
    assert client.get("/admin/audit/auditevent/").status_code == 403
    assert client.get("/admin/accounts/pendingregistration/").status_code == 403


def test_admin_role_sees_users_queue_and_audit(staff_client, pending):
    for path in [
        "/admin/accounts/user/",
        "/admin/accounts/pendingregistration/",
        "/admin/audit/auditevent/",
        f"/admin/accounts/user/{pending.pk}/change/",
    ]:
        assert staff_client.get(path).status_code == 200, path
    queue = staff_client.get("/admin/accounts/pendingregistration/").content.decode()
    assert "pending@hospital.example" in queue
    assert "View document" in queue


def test_approval_queue_bulk_approve(staff_client, pending, admin_user, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/accounts/pendingregistration/", {"action": "approve", "_selected_action": [pending.pk]}
        )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.is_active and pending.approval_status == "approved"
    assert pending.roles == ["Viewer"]
    assert any(m.to == ["pending@hospital.example"] for m in mailoutbox)
    assert AuditEvent.objects.filter(event="approval", actor=admin_user, target_user=pending).exists()


def test_id_document_is_served_to_admins_only(client, staff_client, pending, viewer, editor):
    url = f"/admin/accounts/user/{pending.pk}/id-document/"
    response = staff_client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == TINY_PDF
    assert "sandbox" in response["Content-Security-Policy"]
    assert otp_client(editor, client).get(url).status_code == 403
    client.force_login(viewer)
    assert client.get(url, follow=True).status_code == 403


def test_role_change_in_admin_goes_through_the_service(staff_client, viewer, admin_user):
    data = {
        "username": "vera",
        "email": "vera@hospital.example",
        "full_name": "Vera",
        "employee_id": "",
        "mobile": "",
        "user_type": "employee",
        "is_active": "on",
        "roles": ["Viewer", "Uploader"],
        "theme": "system",
        "autoplay_next": "on",
        "default_quality": "auto",
        "default_speed": "1",
    }
    response = staff_client.post(f"/admin/accounts/user/{viewer.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    viewer = User.objects.get(pk=viewer.pk)
    assert viewer.roles == ["Viewer", "Uploader"]
    event = AuditEvent.objects.get(event="role_change", target_user=viewer)
    assert event.actor == admin_user
    assert event.detail["added"] == ["Uploader"]


def test_deactivate_in_admin_records_and_revokes(staff_client, viewer, api, password):
    tokens = api.post("/api/v1/auth/token/", {"username": "vera", "password": password}, format="json").json()
    staff_client.post("/admin/accounts/user/", {"action": "deactivate", "_selected_action": [viewer.pk]})
    viewer.refresh_from_db()
    assert not viewer.is_active
    assert AuditEvent.objects.filter(event="activation", target_user=viewer).exists()
    assert api.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_unlock_action_clears_the_lockout(staff_client, viewer, api, password):
    for _ in range(5):
        api.post("/api/v1/auth/token/", {"username": "vera", "password": "Wrong-pass-1!"}, format="json")
    assert api.post("/api/v1/auth/token/", {"username": "vera", "password": password}, format="json").status_code == 429
    staff_client.post("/admin/accounts/user/", {"action": "unlock", "_selected_action": [viewer.pk]})
    assert api.post("/api/v1/auth/token/", {"username": "vera", "password": password}, format="json").status_code == 200


def test_reset_two_factor_removes_devices(staff_client, editor):
    from django_otp import user_has_device

    TOTPDeviceFactory(user=editor)
    staff_client.post("/admin/accounts/user/", {"action": "reset_two_factor", "_selected_action": [editor.pk]})
    assert not user_has_device(editor)
    assert AuditEvent.objects.filter(event="otp_reset", target_user=editor).exists()


def test_temporary_password_action_forces_a_change(staff_client, viewer):
    response = staff_client.post(
        "/admin/accounts/user/", {"action": "set_temporary_password", "_selected_action": [viewer.pk]}, follow=True
    )
    text = response.content.decode()
    password = text.split("Temporary password for vera: ")[1].split(" ")[0]
    viewer.refresh_from_db()
    assert viewer.check_password(password)
    assert viewer.must_change_password


def test_requiring_a_new_password_in_the_change_form_is_the_action(staff_client, admin_user, viewer):
    """The tick box and the "Require a new password" action are one rule: audited alike, media URLs void."""
    from tests.security.test_account_attacks_web import change_form

    response = staff_client.post(
        f"/admin/accounts/user/{viewer.pk}/change/", change_form(viewer, must_change_password="on")
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.must_change_password
    assert viewer.tokens_revoked_at is not None
    event = AuditEvent.objects.get(event="password_forced", target_user=viewer)
    assert event.actor == admin_user


def test_audit_events_cannot_be_added_changed_or_deleted(staff_client, viewer):
    event = AuditEventFactory(event="login_success", target_user=viewer)
    assert staff_client.get("/admin/audit/auditevent/add/").status_code == 403
    assert staff_client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    staff_client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"event": "logout"})
    event.refresh_from_db()
    assert event.event == "login_success"
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_csv_export(staff_client, viewer):
    services.user_lock(actor=None, user=viewer)
    event = AuditEvent.objects.get(event="account_lock")
    response = staff_client.post("/admin/audit/auditevent/", {"action": "export_csv", "_selected_action": [event.pk]})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = b"".join(response.streaming_content).decode().splitlines()
    assert rows[0].startswith("time,event,actor,target")
    assert "account_lock" in rows[1] and "vera" in rows[1]


def test_admin_password_form_is_not_a_back_door(staff_client, viewer):
    response = staff_client.get(f"/admin/accounts/user/{viewer.pk}/password/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/admin/accounts/user/{viewer.pk}/change/")
