# ruff: noqa: F811  (pytest fixtures imported from tests/accounts/sso_fixtures.py are redefined as arguments)
"""
Hospital sign-in in Chromium, through the whole OpenID Connect code flow against the real local
provider (tests/accounts/oidc_provider*.py): the first sign-in creates the account with the roles
its groups map to; a provider that did multi-factor spares our own second factor, one that did
not gets it asked; signing out ends the provider's session too; a group removed at the provider
takes its role away at the next sign-in. No console error or CSP violation on the way.
"""

import re

import pytest

from accounts import roles
from accounts.models import User
from tests.factories import TOTPDeviceFactory
from tests.signin import totp_code

from ..accounts.sso_fixtures import oidc, oidc_provider, sso_routes  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EDITOR_GROUPS = ["svl-viewers", "svl-editors"]


@pytest.fixture
def provider(oidc, live_server):
    oidc.client(live_server.url)
    return oidc


def provider_sign_in(page, live_server, username):
    """From our sign-in page, through the provider's, back to us."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Test Hospital ID").click()
    page.wait_for_url(lambda url: url.startswith("http://127.0.0.1:") and "/login/" in url)  # the provider's page
    page.locator("#provider-username").fill(username)
    page.locator("#provider-password").fill("Provider-Pass-1!")
    page.get_by_role("button", name="Sign in at provider").click()
    page.wait_for_load_state("networkidle")


def sign_out(page, live_server):
    page.goto(f"{live_server.url}/accounts/profile/")
    page.locator("form[action='/accounts/logout/']").first.evaluate("form => form.requestSubmit()")
    page.wait_for_url(f"{live_server.url}/accounts/login/")


def test_sso_journey_in_chromium(page, live_server, provider, shot):
    provider.person("alice", groups=EDITOR_GROUPS, amr=["pwd", "mfa"], name="Alice Surgeon")
    provider.person("bob", groups=EDITOR_GROUPS, amr=["pwd"], name="Bob Resident")

    # 1. First sign-in creates Alice with her mapped roles; the provider's MFA spares our code.
    provider_sign_in(page, live_server, "alice")
    assert page.url == f"{live_server.url}/"
    alice = User.objects.get(username="alice")
    assert alice.roles == [roles.VIEWER, roles.EDITOR] and alice.full_name == "Alice Surgeon"
    page.goto(f"{live_server.url}/admin/")
    assert page.get_by_role("heading", name="Administration").is_visible()  # staff, second factor satisfied
    shot(page, "sso-admin-after-provider-mfa")

    # 2. Signing out ends the provider's session too (RP-initiated logout).
    sign_out(page, live_server)
    page.get_by_role("link", name="Sign in with Test Hospital ID").click()
    page.wait_for_url(lambda url: url.startswith("http://127.0.0.1:") and "/login/" in url)
    assert page.locator("#provider-username").is_visible()  # asked for the password again

    # 3. Bob's provider did no multi-factor: our own second factor is asked (first: set it up).
    page.locator("#provider-username").fill("bob")
    page.locator("#provider-password").fill("Provider-Pass-1!")
    page.get_by_role("button", name="Sign in at provider").click()
    page.wait_for_url(f"{live_server.url}/accounts/security/")
    assert page.get_by_text("Your role requires two-step verification; set it up to continue.").is_visible()
    bob = User.objects.get(username="bob")
    sign_out(page, live_server)
    device = TOTPDeviceFactory(user=bob)  # as if he had set up his authenticator app
    provider_sign_in(page, live_server, "bob")
    assert page.url == f"{live_server.url}/accounts/login/verify/"
    page.locator("#id_code").fill(totp_code(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{live_server.url}/")

    # 4. Bob leaves the editors' group at the provider: the role goes at his next sign-in.
    provider.person("bob", groups=["svl-viewers"], amr=["pwd"], name="Bob Resident")
    assert User.objects.get(pk=bob.pk).roles == [roles.VIEWER, roles.EDITOR]
    sign_out(page, live_server)
    provider_sign_in(page, live_server, "bob")
    page.locator("#id_code").fill(totp_code(device, offset=1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{live_server.url}/")
    assert User.objects.get(pk=bob.pk).roles == [roles.VIEWER]
    page.goto(f"{live_server.url}/admin/")
    assert "/admin/" in page.url and not page.get_by_role("heading", name="Administration").is_visible()
    shot(page, "sso-after-group-removal")
    # The provider has no favicon (404) and the admin answers Bob 403; nothing else, and no CSP
    # violation (sign-out's redirect to the provider needs it in form-action).
    unexpected = [e for e in page.console_errors if not re.search(r"status of (403|404)", e)]
    assert unexpected == [], page.console_errors
