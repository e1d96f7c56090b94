"""Headers, CORS, request ids, JSON logs, production settings, and the first-admin command."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_security_headers_on_every_response(client):
    for path in ["/accounts/login/", "/api/v1/auth/me/", "/does-not-exist/"]:
        response = client.get(path)
        csp = response["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
        assert directives["script-src"] == "'self'"
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert directives["media-src"] == "'self' blob:"
        assert directives["worker-src"] == "'self' blob:"
        assert directives["frame-ancestors"] == "'none'"
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert "fullscreen=(self)" in response["Permissions-Policy"]


def test_pages_have_no_inline_scripts_or_handlers(client, viewer):
    import re

    client.force_login(viewer)
    for path in [
        "/accounts/login/",
        "/accounts/register/",
        "/",
        "/accounts/profile/",
        "/accounts/settings/",
        "/accounts/security/",
        "/terms/",
        "/privacy/",
    ]:
        if path == "/accounts/login/" or path == "/accounts/register/":
            client.logout()
        else:
            client.force_login(viewer)
        html = client.get(path).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert "style=" not in html, path


def test_request_id_is_generated_and_echoed(client):
    generated = client.get("/accounts/login/")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="abc-123-def-456")["X-Request-ID"] == "abc-123-def-456"
    # Anything that does not look like an id is replaced (no log injection).
    assert client.get("/accounts/login/", HTTP_X_REQUEST_ID="x\ny")["X-Request-ID"] != "x\ny"


@pytest.fixture
def json_log():
    """Everything logged during the test, formatted by the production formatter."""
    import io

    from core.logging import JsonFormatter, RequestContextFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_access_log_is_one_json_object_per_line(client, json_log):
    client.get("/accounts/login/", HTTP_X_REQUEST_ID="req-0000001")
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "svl.access"]
    assert access, lines
    entry = access[-1]
    assert entry["request_id"] == "req-0000001"
    assert entry["path"] == "/accounts/login/"
    assert entry["status"] == 200
    assert {"time", "level", "user_id", "duration_ms"} <= set(entry)


def test_no_password_in_logs_or_audit(client, api, viewer, password, json_log, caplog):
    with caplog.at_level(logging.DEBUG):
        api.post("/api/v1/auth/token/", {"username": "vera", "password": "Secret-Wrong-99!"}, format="json")
        api.post("/api/v1/auth/token/", {"username": "vera", "password": password}, format="json")
        client.post("/accounts/login/", {"username": "vera", "password": "Secret-Wrong-99!"})
    out = json_log.getvalue() + caplog.text
    for secret in ["Secret-Wrong-99!", password]:
        assert secret not in out
        assert not AuditEvent.objects.filter(detail__icontains=secret).exists()
    from axes.models import AccessAttempt

    for attempt in AccessAttempt.objects.all():
        assert "Secret-Wrong-99!" not in attempt.post_data


def test_cors_is_off_by_default(client):
    response = client.options(
        "/api/v1/auth/token/", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in response


def test_cors_allows_only_listed_origins(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://teaching.hospital.example"]
    settings.CORS_ALLOW_CREDENTIALS = True
    ok = client.get("/api/v1/auth/me/", HTTP_ORIGIN="https://teaching.hospital.example")
    assert ok["Access-Control-Allow-Origin"] == "https://teaching.hospital.example"
    evil = client.get("/api/v1/auth/me/", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in evil


def _run_django(args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "DEBUG"))}
    base.pop("DATABASE_URL", None)
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production(tmp_path):
    result = _run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_ENV="production",
        SECRET_KEY="x" * 20 + "production-secret-key-with-enough-entropy-0123456789",
        ALLOWED_HOSTS="videos.hospital.example",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        EMAIL_URL="smtp+tls://videos@smtp.hospital.example:587",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run_django(["check"], DJANGO_ENV="production", SECRET_KEY="", ALLOWED_HOSTS="x.example")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_cors_wildcard_is_refused(tmp_path):
    result = _run_django(["check"], DJANGO_ENV="development", CORS_ALLOWED_ORIGINS="*")
    assert result.returncode != 0
    assert "CORS_ALLOWED_ORIGINS" in result.stderr


def test_ensure_admin_creates_once_and_prints_the_password(capsys, monkeypatch):
    from django.contrib.auth import get_user_model

    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    admin = get_user_model().objects.get(username="admin")
    password = out.split("Password (shown once, write it down): ")[1].split()[0]
    assert admin.check_password(password)
    assert admin.is_superuser and admin.roles == ["Viewer", "Uploader", "Editor", "Approver", "Admin"]
    call_command("ensure_admin")
    assert "already exists" in capsys.readouterr().out
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_ensure_admin_uses_the_environment(monkeypatch):
    from django.contrib.auth import get_user_model

    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "chief")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Chief-Of-Surgery-1!")
    call_command("ensure_admin")
    assert get_user_model().objects.get(username="chief").check_password("Chief-Of-Surgery-1!")


def test_legal_pages_show_a_fixed_effective_date(client, settings):
    settings.TERMS_EFFECTIVE_DATE = "2026-01-15"
    html = client.get("/terms/").content.decode()
    assert "15" in html and "2026" in html
    assert client.get("/privacy/").status_code == 200


def test_roles_have_the_permissions_of_design(db):
    from django.contrib.auth.models import Group

    admin = Group.objects.get(name="Admin")
    viewer = Group.objects.get(name="Viewer")
    assert admin.permissions.filter(codename="approve_registration").exists()
    assert not viewer.permissions.filter(codename="approve_registration").exists()
    assert set(Group.objects.values_list("name", flat=True)) >= {"Viewer", "Uploader", "Editor", "Approver", "Admin"}


def test_api_schema_and_docs_are_served(api, viewer):
    api.force_authenticate(viewer)
    schema = api.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/token/" in schema.content
    docs = api.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."


def test_control_characters_in_the_user_agent_are_not_a_500(api, viewer, password):
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "vera", "password": "Wrong-pass-1!"},
        format="json",
        HTTP_USER_AGENT="evil\x00agent\x01",
    )
    assert response.status_code == 401
    assert AuditEvent.objects.get(event="login_failure").user_agent == "evilagent"


def test_empty_form_post_shows_the_errors(client):
    response = client.post("/accounts/login/", {})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_empty_optional_settings_fall_back_to_safe_defaults(tmp_path):
    """Copying .env.example as is must not leave the JWT signing key empty."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='config.settings';django.setup();"
            "from django.conf import settings as s;print(len(s.SIMPLE_JWT['SIGNING_KEY']))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
            "DJANGO_ENV": "development",
            "JWT_SIGNING_KEY": "",
            "SECRET_KEY": "s" * 60,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == 60
