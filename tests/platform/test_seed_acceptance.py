"""
The seed system's shipped tests (seed-inventory §8), translated to our paths and made
strict: each asserts the one right status, where the seed accepted several.
"""

import pytest

from tests.factories import VideoFactory

pytestmark = pytest.mark.django_db


def test_password_policy_rejects_weak(api):
    response = api.post(
        "/api/v1/auth/register/", {"username": "u1", "email": "u1@hospital.example", "password": "weak"}, format="json"
    )
    assert response.status_code == 400


def test_password_policy_accepts_strong(api):
    response = api.post(
        "/api/v1/auth/register/",
        {"username": "u2", "email": "u2@hospital.example", "password": "Str0ng!Pass"},
        format="json",
    )
    assert response.status_code == 201


def test_refresh_flow(api, make_user, password):
    make_user("Viewer", username="alice", email="alice@hospital.example")
    login = api.post("/api/v1/auth/token/", {"username": "alice@hospital.example", "password": password}, format="json")
    assert login.status_code == 200
    first = login.json()
    refreshed = api.post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]}, format="json")
    assert refreshed.status_code == 200
    assert refreshed.json()["access"] != first["access"]
    assert refreshed.json()["refresh"] != first["refresh"]
    reused = api.post("/api/v1/auth/token/refresh/", {"refresh": first["refresh"]}, format="json")
    assert reused.status_code == 401


def test_csp_header_present(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response


def test_rate_limit_register(api):
    statuses = [
        api.post(
            "/api/v1/auth/register/",
            {"username": f"r{n}", "email": f"r{n}@hospital.example", "password": "Str0ng!Pass"},
            format="json",
        ).status_code
        for n in range(11)
    ]
    assert statuses == [201] * 10 + [429]


def test_password_change_requires_current(api, make_user):
    alice = make_user("Viewer", username="alice")
    api.force_authenticate(alice)
    response = api.post(
        "/api/v1/auth/password/change/", {"old_password": "wrong", "new_password": "N3w!Password"}, format="json"
    )
    assert response.status_code == 400


def test_password_change_success(api, make_user, password):
    alice = make_user("Viewer", username="alice")
    api.force_authenticate(alice)
    response = api.post(
        "/api/v1/auth/password/change/", {"old_password": password, "new_password": "N3w!Password"}, format="json"
    )
    assert response.status_code == 200


def test_favorite_idempotent(api, uploader):
    video = VideoFactory(uploader=uploader, title="Case 1")
    api.force_authenticate(uploader)
    first = api.put(f"/api/v1/videos/{video.uuid}/favorite/")
    second = api.put(f"/api/v1/videos/{video.uuid}/favorite/")
    assert (first.status_code, second.status_code) == (200, 200)
    assert video.favorited_by.count() == 1
    assert api.get(f"/api/v1/videos/{video.uuid}/").json()["is_favorite"] is True


def test_ownership_enforced(api, uploader, make_user):
    video = VideoFactory(uploader=uploader, title="Case 1")
    # The seed's case: a plain member of staff. Ours adds another uploader, who also may not.
    for role_names in (("Viewer",), ("Viewer", "Uploader")):
        other = make_user(*role_names)
        api.force_authenticate(other)
        response = api.patch(f"/api/v1/videos/{video.uuid}/", {"title": "Mine now"}, format="json")
        assert response.status_code == 403, role_names
    video.refresh_from_db()
    assert (video.title, video.uploader) == ("Case 1", uploader)


def test_upload_extension_rejection(api, uploader, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    api.force_authenticate(uploader)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api.post(
        "/api/v1/videos/",
        {"file": SimpleUploadedFile("malicious.txt", b"#!/bin/sh\necho pwned\n"), "title": "x"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Files of this type are not accepted")
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_super_users_requires_auth(api, client):
    # The seed's /super/users is Django admin's user list here, and the API has no user list.
    assert api.get("/api/v1/auth/me/").status_code == 401
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_super_users_list_ok(staff_client, admin_user):
    response = staff_client.get("/admin/accounts/user/")
    assert response.status_code == 200
    assert admin_user.username in response.content.decode()
