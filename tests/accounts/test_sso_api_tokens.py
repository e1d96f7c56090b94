# ruff: noqa: F811  (pytest fixtures imported from tests/accounts/sso_fixtures.py are redefined as arguments)
"""
Personal API tokens: how accounts of single sign-on and the directory reach the API without their
password ever being sent to it. Created and revoked on the security page or through the API,
shown once, stored as a digest, exchanged for a JWT pair at auth/token/personal/; revoked with
the account's other tokens (role change, lock…). Also: without SSO settings none of it exists.
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import roles, services
from accounts.models import PersonalToken
from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.signin import bearer, otp_client

from .sso_fixtures import sso_routes  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

Event = AuditEvent.Event
EXCHANGE = "/api/v1/auth/token/personal/"


def exchange(secret):
    return APIClient().post(EXCHANGE, {"token": secret}, format="json")


def fresh_session(client, user):
    client.force_login(user, backend="accounts.backends.UsernameOrEmailBackend")
    assert client.post("/accounts/security/confirm/", {"password": PASSWORD, "next": "/"}).status_code == 302
    return client


def test_created_on_the_security_page_shown_once_stored_as_a_digest(client, sso_routes):
    user = UserFactory(roles=[roles.VIEWER])
    fresh_session(client, user)
    page = client.post("/accounts/security/api-tokens/", {"name": "export script"}).content.decode()
    secret = re.search(r'id="new-api-token"[^>]*>(svl_pat_[\w-]+)<', page).group(1)
    token = PersonalToken.objects.get(user=user)
    assert token.name == "export script" and secret not in (token.digest, token.hint)
    assert token.expires_at > timezone.now() + timedelta(days=89)
    listing = client.get("/accounts/security/").content.decode()
    assert "export script" in listing and secret not in listing  # never shown again
    assert AuditEvent.objects.get(event=Event.API_TOKEN_CREATED).detail == {
        "token_id": token.pk,
        "name": "export script",
    }

    pair = exchange(secret)
    assert pair.status_code == 200, pair.content
    assert bearer(pair.json()["access"]).get("/api/v1/auth/me/").json()["username"] == user.username
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert AuditEvent.objects.filter(event=Event.LOGIN_SUCCESS, detail__method="api_token").exists()


def test_creating_one_needs_a_fresh_confirmation(client, sso_routes):
    user = UserFactory(roles=[roles.VIEWER])
    client.force_login(user, backend="accounts.backends.UsernameOrEmailBackend")  # not a fresh sign-in
    response = client.post("/accounts/security/api-tokens/", {"name": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/security/confirm/")
    assert not PersonalToken.objects.exists()


@pytest.mark.parametrize("state", ["unknown", "revoked", "expired", "deactivated", "role-changed"])
def test_tokens_that_no_longer_count_are_refused(sso_routes, state):
    user = UserFactory(roles=[roles.VIEWER])
    token, secret = services.api_token_create(user=user, name="t", second_factor=False)
    if state == "unknown":
        secret = secret[:-4] + "AAAA"
    elif state == "revoked":
        assert services.api_token_revoke(actor=user, user=user, token_id=token.pk)
    elif state == "expired":
        PersonalToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "deactivated":
        services.user_set_active(actor=None, user=user, active=False)
    else:  # a role change revokes every token of the account, as for JWTs
        services.user_set_roles(actor=None, user=user, role_names=[roles.VIEWER, roles.UPLOADER])
    response = exchange(secret)
    assert response.status_code == 401
    assert "access" not in response.json()


def test_the_second_factor_travels_with_the_token(sso_routes):
    editor = UserFactory(roles=[roles.VIEWER, roles.EDITOR])
    _, without = services.api_token_create(user=editor, name="a", second_factor=False)
    _, with_factor = services.api_token_create(user=editor, name="b", second_factor=True)
    tags = "/api/v1/tags/"
    assert bearer(exchange(without).json()["access"]).get(tags).json()["code"] == "otp_required"
    assert bearer(exchange(with_factor).json()["access"]).get(tags).status_code == 200


def test_through_the_api_create_list_revoke_and_only_ones_own(sso_routes):
    owner, other = UserFactory(roles=[roles.VIEWER]), UserFactory(roles=[roles.VIEWER])
    api = APIClient()
    api.force_authenticate(owner)
    created = api.post("/api/v1/auth/api-tokens/", {"name": "ci"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("svl_pat_") and body["name"] == "ci"
    assert [t["name"] for t in api.get("/api/v1/auth/api-tokens/").json()] == ["ci"]
    assert "token" not in api.get("/api/v1/auth/api-tokens/").json()[0]
    intruder = APIClient()
    intruder.force_authenticate(other)
    assert intruder.delete(f"/api/v1/auth/api-tokens/{body['id']}/").status_code == 404
    assert exchange(body["token"]).status_code == 200
    assert api.delete(f"/api/v1/auth/api-tokens/{body['id']}/").status_code == 204
    assert exchange(body["token"]).status_code == 401
    assert AuditEvent.objects.filter(event=Event.API_TOKEN_REVOKED, target_user=owner).count() == 1


def test_revoke_on_the_page_only_ones_own(client, sso_routes):
    owner, other = UserFactory(roles=[roles.VIEWER]), UserFactory(roles=[roles.VIEWER])
    token, secret = services.api_token_create(user=owner, name="mine", second_factor=False)
    client.force_login(other, backend="accounts.backends.UsernameOrEmailBackend")
    client.post("/accounts/security/api-tokens/revoke/", {"token": token.pk})
    assert exchange(secret).status_code == 200
    client.force_login(owner, backend="accounts.backends.UsernameOrEmailBackend")
    client.post("/accounts/security/api-tokens/revoke/", {"token": token.pk})
    assert exchange(secret).status_code == 401


def test_exchange_is_rate_limited_and_json_only(sso_routes, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "login": "2/5m"}
    assert exchange("svl_pat_nope").status_code == 401
    assert exchange("svl_pat_nope").status_code == 401
    limited = exchange("svl_pat_nope")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    cache.clear()
    form = APIClient().post(EXCHANGE, "token=svl_pat_x", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415


def test_staff_pages_of_sso_accounts_keep_working(client, sso_routes, admin_user):
    page = otp_client(admin_user, client).get("/accounts/security/").content.decode()
    assert "Personal API tokens" in page


# ------------------------------------------------------------------------------ without SSO settings


def test_without_sso_settings_nothing_of_it_exists(client):
    assert not django_settings.OIDC_ENABLED and not django_settings.LDAP_ENABLED
    assert not django_settings.API_TOKENS_ENABLED and django_settings.LOCAL_LOGIN
    assert django_settings.AUTHENTICATION_BACKENDS == [
        "axes.backends.AxesStandaloneBackend",
        "accounts.backends.UsernameOrEmailBackend",
    ]
    for name in ("accounts:oidc_login", "accounts:oidc_callback", "accounts:api_token_create", "api:token_personal"):
        with pytest.raises(NoReverseMatch):
            reverse(name)
    assert client.get("/accounts/oidc/login/").status_code == 404
    assert APIClient().post(EXCHANGE, {"token": "svl_pat_x"}, format="json").status_code == 404
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with" not in page and 'name="password"' in page
    from accounts.tasks import directory_check

    assert directory_check() == {"checked": 0}
