# ruff: noqa: F811  (pytest fixtures imported from tests/accounts/sso_fixtures.py are redefined as arguments)
"""
Hospital sign-in through OpenID Connect, against a real provider running on this machine
(django-oauth-toolkit, tests/accounts/oidc_provider*.py), the whole authorization code flow over
HTTP: our start page → the provider's sign-in form → our callback, which exchanges the code
(with the PKCE verifier) at the provider's token endpoint and checks the RS256 ID token.
The browser version of the same journey is tests/e2e/test_browser_sso.py.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import ExternalIdentity, User
from audit.models import AuditEvent
from tests.factories import PASSWORD as LOCAL_PASSWORD
from tests.factories import TOTPDeviceFactory, UserFactory
from tests.signin import totp_code

from .sso_fixtures import oidc, oidc_provider, sso_routes  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

Event = AuditEvent.Event
APP = "http://testserver"


@pytest.fixture
def provider(oidc):
    oidc.client(APP)
    return oidc


def start(client, query=""):
    response = client.get(f"/accounts/oidc/login/{query}")
    assert response.status_code == 302, response.content
    return response["Location"]


def oidc_sign_in(client, provider, username, query=""):
    """The whole code flow; returns our callback's answer."""
    callback = provider.sign_in(start(client, query), username)
    assert callback.startswith(f"{APP}/accounts/oidc/callback/?"), callback
    return client.get(callback.removeprefix(APP))


_counter = iter(range(10**6))


def person(provider, **kwargs):
    return provider.person(f"oidc{next(_counter)}x{id(provider) % 997}", **kwargs)


def test_authorization_request_uses_pkce_s256_state_and_nonce(client, provider):
    query = parse_qs(urlsplit(start(client)).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["redirect_uri"] == [f"{APP}/accounts/oidc/callback/"]


def test_first_sign_in_creates_the_account_with_the_mapped_roles(client, provider):
    name = person(provider, groups=["svl-viewers", "svl-uploaders", "not-mapped"])
    response = oidc_sign_in(client, provider, name)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username=name)
    assert user.roles == [roles.VIEWER, roles.UPLOADER]
    assert (user.email, user.is_active, user.has_usable_password()) == (f"{name}@hospital.test", True, False)
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.provider, identity.location) == ("oidc", provider.issuer)
    assert identity.subject.isdigit()  # the provider's "sub", not the name
    assert client.get("/accounts/profile/").status_code == 200
    success = AuditEvent.objects.get(event=Event.LOGIN_SUCCESS, target_user=user)
    assert success.detail == {"method": "oidc", "second_factor": False}
    assert AuditEvent.objects.filter(event=Event.SSO_ACCOUNT_CREATED, target_user=user).exists()


def test_people_are_matched_by_subject_not_by_name_or_email(client, provider):
    name = person(provider, groups=["svl-viewers"])
    oidc_sign_in(client, provider, name)
    user = User.objects.get(username=name)
    provider.person(name, groups=["svl-viewers"], email="renamed@hospital.test")  # same sub, new e-mail
    client.logout()
    oidc_sign_in(client, provider, name)
    assert User.objects.count() == 1 and ExternalIdentity.objects.get().user == user


def test_a_local_account_with_the_same_email_is_not_taken_over(client, provider):
    local = UserFactory(username="alicelocal", email="taken@hospital.test", roles=[roles.VIEWER])
    name = person(provider, groups=["svl-editors"], email="taken@hospital.test")
    response = oidc_sign_in(client, provider, name)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    page = client.get("/accounts/login/").content.decode()
    assert "already exists here and is not linked" in page
    assert not ExternalIdentity.objects.exists()
    assert User.objects.get(pk=local.pk).roles == [roles.VIEWER]
    failure = AuditEvent.objects.get(event=Event.LOGIN_FAILURE)
    assert failure.detail == {"reason": "sso_conflict", "method": "oidc"}


def test_sso_link_existing_links_a_local_account_but_never_a_superuser(client, provider, settings):
    settings.SSO_LINK_EXISTING = True
    local = UserFactory(username="linkme", email="linkme@hospital.test", roles=[roles.VIEWER])
    oidc_sign_in(client, provider, person(provider, groups=["svl-uploaders"], email="linkme@hospital.test"))
    assert ExternalIdentity.objects.get().user == local
    assert User.objects.get(pk=local.pk).roles == [roles.VIEWER, roles.UPLOADER]

    root = UserFactory(username="root", email="root@hospital.test", is_superuser=True)
    other = client.__class__()
    oidc_sign_in(other, provider, person(provider, email="root@hospital.test"))
    assert not root.external_identities.exists()
    assert other.get("/accounts/profile/").status_code == 302


def test_group_removal_takes_the_role_away_at_next_sign_in(client, provider):
    name = person(provider, groups=["svl-viewers", "svl-uploaders"])
    oidc_sign_in(client, provider, name)
    provider.person(name, groups=["svl-viewers"])
    client.logout()
    oidc_sign_in(client, provider, name)
    user = User.objects.get(username=name)
    assert user.roles == [roles.VIEWER]
    change = AuditEvent.objects.filter(event=Event.ROLE_CHANGE, target_user=user).first()  # newest first
    assert change.detail == {"added": [], "removed": [roles.UPLOADER], "via": "oidc"}


def test_provider_mfa_satisfies_the_second_factor_rule(client, provider):
    """An Editor (OTP_REQUIRED_ROLES) whose provider reports amr=mfa is not asked again, anywhere."""
    name = person(provider, groups=["svl-viewers", "svl-editors"], amr=["pwd", "mfa"])
    response = oidc_sign_in(client, provider, name)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200  # no enrolment demanded
    assert client.get("/admin/").status_code == 200  # the admin site's second-factor check too
    assert client.get("/api/v1/auth/me/").status_code == 200  # and the API's session check
    success = AuditEvent.objects.get(event=Event.LOGIN_SUCCESS)
    assert success.detail == {"method": "oidc", "second_factor": True, "provider_mfa": True}


def test_a_configured_acr_satisfies_it_too(client, provider, settings):
    settings.OIDC_MFA_AMR = []
    name = person(provider, groups=["svl-editors"], amr=["pwd", "otp"])
    oidc_sign_in(client, provider, name)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/security/"  # amr not trusted now


def test_without_provider_mfa_our_second_factor_is_asked(client, provider):
    name = person(provider, groups=["svl-editors"], amr=["pwd"])
    oidc_sign_in(client, provider, name)
    user = User.objects.get(username=name)
    assert client.get("/")["Location"] == "/accounts/security/"  # must enrol first
    device = TOTPDeviceFactory(user=user)
    client.logout()

    response = oidc_sign_in(client, provider, name)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/verify/"
    assert client.get("/accounts/profile/").status_code == 302  # not signed in before the code
    response = client.post("/accounts/login/verify/", {"code": totp_code(device)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/admin/").status_code == 200
    success = AuditEvent.objects.filter(event=Event.LOGIN_SUCCESS).first()
    assert success.detail == {"method": "oidc+otp", "second_factor": True}


def test_sign_out_ends_the_providers_session_too(client, provider):
    name = person(provider, groups=["svl-viewers"])
    session = __import__("requests").Session()
    callback = provider.sign_in(start(client), name, session=session)
    client.get(callback.removeprefix(APP))
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    end = urlsplit(response["Location"])
    assert f"{end.scheme}://{end.netloc}{end.path}" == f"{provider.issuer}/logout/"
    query = parse_qs(end.query)
    assert query["post_logout_redirect_uri"] == [f"{APP}/accounts/login/"] and query["id_token_hint"]
    assert client.get("/accounts/profile/").status_code == 302  # signed out here
    back = session.get(response["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302 and back.headers["Location"] == f"{APP}/accounts/login/"
    # …and there: the provider asks for the password again.
    again = session.get(start(client), allow_redirects=False, timeout=10)
    assert again.status_code == 302 and "/login/" in again.headers["Location"]


def test_a_callback_cannot_be_replayed(client, provider):
    name = person(provider, groups=["svl-viewers"])
    callback = provider.sign_in(start(client), name).removeprefix(APP)
    assert client.get(callback)["Location"] == "/"
    client.logout()
    other = client.__class__()
    assert other.get(callback)["Location"] == "/accounts/login/"  # no state in that browser
    assert other.get("/accounts/profile/").status_code == 302
    assert AuditEvent.objects.filter(event=Event.LOGIN_SUCCESS).count() == 1


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"OIDC_CLOCK_SKEW_SECONDS": -7200}, "check this server&#x27;s clock (clock skew)"),
        ({"OIDC_OP_ISSUER": "https://login.example.invalid/tenant/v2.0"}, "issuer is not OIDC_OP_ISSUER"),
    ],
    ids=["clock-two-hours-ahead", "wrong-issuer"],
)
def test_a_token_that_fails_a_check_is_refused_with_the_reason(client, provider, settings, setting, message):
    for key, value in setting.items():
        setattr(settings, key, value)
    name = person(provider, groups=["svl-viewers"])
    response = oidc_sign_in(client, provider, name)
    assert response["Location"] == "/accounts/login/"
    assert message in client.get("/accounts/login/").content.decode()
    assert not User.objects.filter(username=name).exists()
    assert AuditEvent.objects.get(event=Event.LOGIN_FAILURE).detail == {"reason": "oidc_rejected", "method": "oidc"}


def test_an_error_from_the_provider_is_shown(client, provider):
    start(client)
    response = client.get("/accounts/oidc/callback/?error=access_denied&error_description=User+cancelled")
    assert response["Location"] == "/accounts/login/"
    assert "The provider said: User cancelled" in client.get("/accounts/login/").content.decode()


def test_unreachable_provider_is_said(client, provider, settings):
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/token/"
    name = person(provider)
    oidc_sign_in(client, provider, name)
    assert "could not be reached to finish signing in" in client.get("/accounts/login/").content.decode()


def test_new_accounts_wait_for_approval_without_sso_create_users(client, provider, settings):
    settings.SSO_CREATE_USERS = False
    name = person(provider, groups=["svl-viewers"])
    oidc_sign_in(client, provider, name)
    assert "awaiting approval" in client.get("/accounts/login/").content.decode()
    user = User.objects.get(username=name)
    assert (user.is_active, user.approval_status) == (False, "pending")
    assert client.get("/accounts/profile/").status_code == 302


def test_the_sign_in_page_offers_the_provider(client, provider):
    page = client.get("/accounts/login/?next=/library/history/").content.decode()
    assert 'href="/accounts/oidc/login/?next=/library/history/"' in page
    assert "Sign in with Test Hospital ID" in page
    assert 'name="password"' in page  # local accounts still work (LOCAL_LOGIN=True)


def test_next_survives_the_round_trip_and_stays_on_this_site(client, provider):
    name = person(provider, groups=["svl-viewers"])
    assert oidc_sign_in(client, provider, name, "?next=/library/history/")["Location"] == "/library/history/"
    client.logout()
    assert oidc_sign_in(client, provider, name, "?next=https://evil.example/")["Location"] == "/"


# ------------------------------------------------------------------------------ LOCAL_LOGIN=False


@pytest.fixture
def sso_only(provider, settings):
    settings.LOCAL_LOGIN = False
    settings.REGISTRATION_OPEN = False
    return provider


def test_sso_only_page_has_no_password_form_but_a_break_glass_link(client, sso_only):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Test Hospital ID" in page and 'name="password"' not in page
    assert "No account yet?" not in page and "Forgot your password?" not in page
    assert 'name="password"' in client.get("/accounts/login/?local=1").content.decode()


def test_sso_only_refuses_local_passwords_except_superusers(client, sso_only):
    UserFactory(username="vera", roles=[roles.VIEWER])
    response = client.post("/accounts/login/?local=1", {"username": "vera", "password": LOCAL_PASSWORD})
    assert "Invalid username or password." in response.content.decode()
    api = APIClient()
    assert (
        api.post("/api/v1/auth/token/", {"username": "vera", "password": LOCAL_PASSWORD}, format="json").status_code
        == 401
    )
    client.post("/accounts/password/reset/", {"email": "vera@hospital.example"})
    assert mail.outbox == []

    root = UserFactory(username="root", is_superuser=True)
    device = TOTPDeviceFactory(user=root)
    response = client.post("/accounts/login/?local=1", {"username": "root", "password": LOCAL_PASSWORD})
    assert response["Location"] == "/accounts/login/verify/"  # break-glass, with its second factor
    assert client.post("/accounts/login/verify/", {"code": totp_code(device)})["Location"] == "/"


def test_sso_only_closes_registration(client, sso_only):
    assert client.get(reverse("accounts:register")).status_code == 403
    assert AccessAttempt.objects.count() == 0
