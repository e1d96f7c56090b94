"""
Fixtures that turn hospital sign-in on for one test (import them into a test module):
``directory`` (LDAP against the real slapd of :mod:`tests.accounts.ldap_server`),
``oidc`` (OpenID Connect against the real provider of :mod:`tests.accounts.oidc_provider`) and
``sso_routes`` (the pages and API routes that exist only where SSO is configured: the URL
modules are re-read with the test's settings, and again with the normal ones afterwards).
"""

import copy
import importlib
import sys

import pytest
from django.urls import clear_url_caches

from accounts.ldap_config import auth_ldap_settings

from .ldap_server import ROLE_MAP, slapd_server  # noqa: F401 (fixture)
from .oidc_provider import oidc_provider  # noqa: F401 (fixture)

DIRECTORY_BACKEND = "accounts.directory.DirectoryBackend"
OIDC_BACKEND = "accounts.oidc.OIDCBackend"
_URL_MODULES = ["accounts.urls", "accounts.api.urls", "config.urls"]


def reload_urls() -> None:
    for name in _URL_MODULES:
        if name in sys.modules:
            importlib.reload(sys.modules[name])
    clear_url_caches()


def use_directory(settings, server, **overrides) -> None:
    values = server.settings(**overrides)
    for name, value in {**values, **auth_ldap_settings(values)}.items():
        setattr(settings, name, value)
    if DIRECTORY_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, DIRECTORY_BACKEND]


@pytest.fixture
def directory(settings, slapd_server):  # noqa: F811
    """LDAP sign-in against the test slapd, with its groups mapped to roles."""
    use_directory(settings, slapd_server)
    settings.SSO_ROLE_MAP = ROLE_MAP
    return slapd_server


@pytest.fixture
def sso_routes(settings):
    """Personal API tokens (and, with ``oidc``, the OpenID pages) routed for this test."""
    settings.API_TOKENS_ENABLED = True
    reload_urls()
    yield
    settings.API_TOKENS_ENABLED = False
    settings.OIDC_ENABLED = False
    reload_urls()


@pytest.fixture
def oidc(settings, oidc_provider, sso_routes):  # noqa: F811
    """OpenID Connect sign-in against the local provider (PKCE, RS256), its groups mapped to roles."""
    for name, value in oidc_provider.settings().items():
        setattr(settings, name, value)
    if OIDC_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, OIDC_BACKEND]
    # As config/settings.py does for an end-session endpoint: sign-out's form may redirect there.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"].append(oidc_provider.base)
    settings.CONTENT_SECURITY_POLICY = policy
    reload_urls()
    return oidc_provider
