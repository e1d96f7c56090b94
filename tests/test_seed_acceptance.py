"""
The seed system's shipped tests (seed-inventory §8), translated to our paths and made
strict: each asserts the one right status, where the seed accepted several.
"""

import pytest

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
