"""
Starts the local OpenID Connect provider (:mod:`tests.accounts.oidc_provider_site`, django-oauth-
toolkit) for the sign-in tests: a ``runserver`` on a free loopback port with its own SQLite
database and a fresh RSA signing key, migrated first. ``oidc_provider`` (session fixture, one per
pytest worker) returns an :class:`OIDCProvider`, which sets up people and clients through the
provider's guarded ``/control/`` endpoint and can sign a person in over plain HTTP.
"""

import os
import re
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .ldap_server import free_port

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "svl-test-client"
CLIENT_SECRET = "svl-test-client-secret-0123456789"
PASSWORD = "Provider-Pass-1!"
ROLE_MAP = {"svl-editors": "Editor", "svl-viewers": "Viewer", "svl-uploaders": "Uploader"}


@dataclass
class OIDCProvider:
    port: int
    secret: str
    process: subprocess.Popen

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.base}/o"

    def settings(self, **overrides) -> dict:
        """Our OIDC_* settings (README "Hospital sign-in") for this provider."""
        values = {
            "OIDC_ENABLED": True,
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_PROVIDER_NAME": "Test Hospital ID",
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/authorize/",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token/",
            "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo/",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/.well-known/jwks.json",
            "OIDC_OP_END_SESSION_ENDPOINT": f"{self.issuer}/logout/",
            "OIDC_RP_SIGN_ALGO": "RS256",
            "OIDC_RP_SCOPES": "openid email profile",
            "SSO_ROLE_MAP": ROLE_MAP,
        }
        values.update(overrides)
        return values

    def control(self, what: str, **data) -> dict:
        response = requests.post(
            f"{self.base}/control/{what}/", json=data, headers={"X-Control-Secret": self.secret}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()

    def person(self, username: str, *, groups=(), amr=("pwd",), password: str = PASSWORD, **extra) -> str:
        """Create or change a person at the provider (their groups and what their sign-in reports)."""
        self.control("user", username=username, password=password, groups=list(groups), amr=list(amr), **extra)
        return username

    def client(self, *app_urls: str) -> None:
        """Register our app, answering at each of ``app_urls`` (http://testserver, the live server…)."""
        self.control(
            "client",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uris=[f"{url}/accounts/oidc/callback/" for url in app_urls],
            post_logout_redirect_uris=[f"{url}/accounts/login/" for url in app_urls],
        )

    def sign_in(self, authorize_url: str, username: str, password: str = PASSWORD, session=None) -> str:
        """
        A person at the provider, over HTTP: open ``authorize_url``, fill in the provider's sign-in
        form, and return the URL the provider sends the browser back to (our callback).
        """
        session = session or requests.Session()
        response = session.get(authorize_url, allow_redirects=False, timeout=10)
        if response.status_code == 302 and "/login/" in response.headers["Location"]:
            login_url = urljoin(self.base, response.headers["Location"])
            page = session.get(login_url, timeout=10)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            response = session.post(
                login_url,
                data={"csrfmiddlewaretoken": token, "username": username, "password": password},
                headers={"Referer": login_url},
                allow_redirects=False,
                timeout=10,
            )
            assert response.status_code == 302, response.text[:500]
            response = session.get(urljoin(self.base, response.headers["Location"]), allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]


def start_provider(folder: Path) -> OIDCProvider:
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    secret = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.accounts.oidc_provider_site",
        "SVL_OIDC_DB": str(folder / "provider.sqlite3"),
        "SVL_OIDC_RSA_KEY": pem,
        "SVL_OIDC_CONTROL_SECRET": secret,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    migrate = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    port = free_port()
    log = open(folder / "provider.log", "ab")  # noqa: SIM115 (the server's output, read on failure)
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    provider = OIDCProvider(port=port, secret=secret, process=process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((folder / "provider.log").read_text()[-3000:])
        try:
            if requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                return provider
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the OpenID provider did not start within 30 s")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    provider = start_provider(tmp_path_factory.mktemp("oidc-provider"))
    yield provider
    provider.process.terminate()
    try:
        provider.process.wait(10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
