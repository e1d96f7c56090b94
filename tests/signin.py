"""
Signing in, for tests that need a session or a token of a user they made themselves (the
fixtures in conftest.py give one per role). Staff roles need a second factor: ``otp_client``
gives a browser session that has passed it without going through the pages.
"""

from django.test import Client
from django_otp.oath import totp
from rest_framework.test import APIClient

BACKEND = "accounts.backends.UsernameOrEmailBackend"


def totp_code(device, offset: int = 0) -> str:
    """The current code of a django-otp TOTPDevice (``offset`` steps later)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset):06d}"


def signed_in(user, client=None) -> Client:
    """A browser session of ``user`` (a new ``Client`` unless one is given)."""
    client = client or Client()
    client.force_login(user)
    return client


def otp_client(user, client=None, device=None) -> Client:
    """
    A browser session of ``user`` that passed the second factor: ``device``, or their
    authenticator app "phone" (made if missing).
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = client or Client()
    if device is None:
        device, _ = TOTPDevice.objects.get_or_create(user=user, name="phone", confirmed=True)
    client.force_login(user, backend=BACKEND)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def token_sign_in(api, username: str, password: str) -> dict:
    """POST the JWT sign-in (200 expected): the token pair, or the ticket for the second factor."""
    response = api.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str, client=None) -> APIClient:
    """An API client that sends the JWT ``access`` token."""
    client = client or APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client
