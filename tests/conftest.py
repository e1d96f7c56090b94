"""
Shared fixtures: a temporary MEDIA_ROOT, a clean cache, one user per role, and clients signed
in as them. A test takes one signed-in client: ``viewer_client`` and ``uploader_client`` are
the same ``client`` (and ``viewer_api`` and ``uploader_api`` the same ``api``) signed in as
different people.
"""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import roles
from accounts.sms import LocmemBackend
from videos import revocation

from .factories import PASSWORD, TOTPDeviceFactory, UserFactory
from .signin import otp_client


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


# ------------------------------------------------------------------------------ users per role


@pytest.fixture
def make_user(db):
    """``make_user(*role_names, **fields)``: a user in exactly those role groups."""

    def make(*role_names, **kwargs):
        return UserFactory(roles=list(role_names), **kwargs)

    return make


@pytest.fixture
def make_member(make_user):
    """``make_member(role, **fields)``: a member of ``role`` and of every role below it (as staff are)."""

    def make(role, **kwargs):
        return make_user(*roles.ROLES[: roles.ROLES.index(role) + 1], **kwargs)

    return make


@pytest.fixture
def make_staff(make_member):
    """``make_staff(role, client)``: a member of ``role`` signed into ``client`` past the second factor."""

    def make(role, client, **fields):
        fields.setdefault("username", role.lower())
        user = make_member(role, **fields)
        otp_client(user, client)
        return user

    return make


@pytest.fixture
def viewer(make_user):
    return make_user(roles.VIEWER, username="vera")


@pytest.fixture
def uploader(make_user):
    return make_user(roles.VIEWER, roles.UPLOADER, username="uma")


@pytest.fixture
def editor(make_user):
    return make_user(roles.VIEWER, roles.EDITOR, username="ed")


@pytest.fixture
def approver(make_user):
    return make_user(roles.VIEWER, roles.APPROVER, username="appy", full_name="Ann Approver")


@pytest.fixture
def admin_user(make_user):
    """An Admin with a confirmed authenticator app (the role requires a second factor)."""
    user = make_user(*roles.ROLES, username="ada", is_staff=True)
    TOTPDeviceFactory(user=user)
    return user


# ------------------------------------------------------------------------------ signed-in clients


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def uploader_client(client, uploader):
    client.force_login(uploader)
    return client


@pytest.fixture
def editor_client(client, editor):
    """A browser session of ``editor`` that passed the second factor."""
    return otp_client(editor, client)


@pytest.fixture
def approver_client(client, approver):
    """A browser session of ``approver`` that passed the second factor."""
    return otp_client(approver, client)


@pytest.fixture
def staff_client(client, admin_user):
    """A browser session of ``admin_user`` that passed the second factor."""
    return otp_client(admin_user, client)


@pytest.fixture
def viewer_api(api, viewer):
    api.force_authenticate(viewer)
    return api


@pytest.fixture
def uploader_api(api, uploader):
    api.force_authenticate(uploader)
    return api


from .media import media  # noqa: E402,F401  (session fixture of generated sample files)
