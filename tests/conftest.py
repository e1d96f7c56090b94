"""Shared fixtures: a temporary MEDIA_ROOT, a clean cache, users per role, API clients."""

import pytest
from django.core.cache import cache
from django_otp.oath import totp
from rest_framework.test import APIClient

from accounts import roles
from accounts.sms import LocmemBackend
from videos import revocation

from .factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Every test gets its own media directory and an empty cache (rate-limit counters)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SMS_BACKEND = "locmem"
    LocmemBackend.outbox.clear()
    cache.clear()
    revocation.forget()  # another test's withdrawn videos and revoked users are not this one's
    yield
    cache.clear()
    revocation.forget()


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def sms_outbox():
    return LocmemBackend.outbox


@pytest.fixture
def make_user(db):
    def make(*role_names, **kwargs):
        return UserFactory(roles=list(role_names), **kwargs)

    return make


@pytest.fixture
def viewer(make_user):
    return make_user(roles.VIEWER, username="vera")


@pytest.fixture
def uploader(make_user):
    return make_user(roles.VIEWER, roles.UPLOADER, username="uma")


@pytest.fixture
def admin_user(make_user):
    """An Admin with a confirmed authenticator app (the role requires a second factor)."""
    user = make_user(*roles.ROLES, username="ada", is_staff=True)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def staff_client(client, admin_user):
    """A browser session of ``admin_user`` that passed the second factor."""
    device = admin_user.totpdevice_set.get()
    client.force_login(admin_user, backend="accounts.backends.UsernameOrEmailBackend")
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def totp_code(device, offset: int = 0) -> str:
    """The current code of a django-otp TOTPDevice (``offset`` steps later)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset):06d}"


from .media import media  # noqa: E402,F401  (session fixture of generated sample files)
