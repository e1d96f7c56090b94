# ruff: noqa: F811  (pytest fixtures imported from tests/accounts/sso_fixtures.py are redefined as arguments)
"""
Hospital sign-in through LDAP / Active Directory, against a real slapd over StartTLS
(tests/accounts/ldap_server.py): sign-in through the ordinary sign-in page, roles from groups at
every sign-in, role loss with its tokens, disabled accounts, the hourly directory check, and the
rules that must hold on this path as on the local one (lockout, no directory password to the API,
no take-over of local accounts).
"""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import roles, services
from accounts.api.views import tokens_for
from accounts.directory import directory_check
from accounts.models import ExternalIdentity, User
from audit.models import AuditEvent
from tests.factories import PASSWORD as LOCAL_PASSWORD
from tests.factories import UserFactory
from tests.signin import otp_client

from .ldap_server import EDITORS, PASSWORD, PEOPLE, UPLOADERS, VIEWERS
from .sso_fixtures import directory, slapd_server, use_directory  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

Event = AuditEvent.Event
LOGIN = "/accounts/login/"


def sign_in(client, username, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


def events(user, event):
    return list(AuditEvent.objects.filter(target_user=user, event=event).order_by("created_at"))


def test_first_sign_in_creates_the_account_with_the_mapped_roles(client, directory):
    uid = directory.add_person(groups=[VIEWERS, UPLOADERS], name="Uma Uploader")
    response = sign_in(client, uid)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username=uid)
    assert user.roles == [roles.VIEWER, roles.UPLOADER]
    assert (user.email, user.full_name, user.is_active) == (f"{uid}@hospital.test", "Uma Uploader", True)
    assert not user.has_usable_password()  # the directory keeps the password, never this database
    identity = ExternalIdentity.objects.get(user=user)
    assert identity.provider == "ldap" and len(identity.subject) == 36  # entryUUID, not the name
    assert identity.location == f"uid={uid},{PEOPLE}".lower()
    assert identity.roles == {roles.UPLOADER: [UPLOADERS], roles.VIEWER: [VIEWERS]}
    assert client.get("/accounts/profile/").status_code == 200
    [success] = events(user, Event.LOGIN_SUCCESS)
    assert success.detail["method"] == "directory"
    [created] = events(user, Event.SSO_ACCOUNT_CREATED)
    assert created.detail == {"provider": "ldap", "linked": False, "approved": True}
    [change] = events(user, Event.ROLE_CHANGE)
    assert change.detail == {"added": [roles.UPLOADER, roles.VIEWER], "removed": [], "via": "ldap"}


def test_wrong_directory_password_is_refused_like_a_local_one(client, directory):
    uid = directory.add_person(groups=[VIEWERS])
    response = sign_in(client, uid, "Not-the-password-1!")
    assert response.status_code == 200
    assert "Invalid username or password." in response.content.decode()
    assert not User.objects.filter(username=uid).exists()


def test_removal_from_a_group_loses_the_role_and_its_tokens_at_next_sign_in(client, directory):
    uid = directory.add_person(groups=[VIEWERS, UPLOADERS])
    sign_in(client, uid)
    user = User.objects.get(username=uid)
    refresh = tokens_for(user, otp=False)["refresh"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user, otp=False)['access']}")
    assert api.get("/api/v1/auth/me/").status_code == 200

    directory.leave(uid, UPLOADERS)
    assert User.objects.get(pk=user.pk).roles == [roles.VIEWER, roles.UPLOADER]  # nothing until they sign in
    client.logout()
    assert sign_in(client, uid).status_code == 302

    user = User.objects.get(pk=user.pk)
    assert user.roles == [roles.VIEWER]
    assert ExternalIdentity.objects.get(user=user).roles == {roles.VIEWER: [VIEWERS]}
    assert api.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json").status_code == 401
    assert api.get("/api/v1/auth/me/").status_code == 401  # the access token's stamp changed
    change = events(user, Event.ROLE_CHANGE)[-1]
    assert change.detail == {"added": [], "removed": [roles.UPLOADER], "via": "ldap"}


def test_a_role_granted_by_an_admin_survives_directory_sign_ins(client, directory, admin_user):
    uid = directory.add_person(groups=[VIEWERS])
    sign_in(client, uid)
    user = User.objects.get(username=uid)
    services.user_set_roles(actor=admin_user, user=user, role_names=[roles.VIEWER, roles.APPROVER])
    client.logout()
    sign_in(client, uid)
    assert User.objects.get(pk=user.pk).roles == [roles.VIEWER, roles.APPROVER]


def test_admin_sees_where_each_role_came_from(client, directory, admin_user):
    uid = directory.add_person(groups=[VIEWERS])
    sign_in(client, uid)
    user = User.objects.get(username=uid)
    services.user_set_roles(actor=admin_user, user=user, role_names=[roles.VIEWER, roles.UPLOADER])
    page = otp_client(admin_user).get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()
    assert f"<strong>Viewer</strong>: LDAP directory group {VIEWERS.lower()}" in page
    assert "<strong>Uploader</strong>: granted by an administrator" in page
    assert "Signs in through LDAP directory" in page


def test_disabled_directory_account_cannot_sign_in(client, directory):
    uid = directory.add_person(groups=[VIEWERS], disabled=True)  # userAccountControl 514 (AD bit 2)
    response = sign_in(client, uid)
    assert response.status_code == 200
    assert "This account has been deactivated." in response.content.decode()
    user = User.objects.get(username=uid)
    assert not user.is_active
    assert client.get("/accounts/profile/").status_code == 302  # not signed in
    assert [e.detail for e in events(user, Event.DEPROVISION)] == [{"provider": "ldap", "reason": "disabled"}]


def test_disabled_then_enabled_in_the_directory(client, directory):
    uid = directory.add_person(groups=[VIEWERS])
    sign_in(client, uid)
    directory.disable(uid)
    client.logout()
    assert "deactivated" in sign_in(client, uid).content.decode()
    directory.enable(uid)
    assert sign_in(client, uid).status_code == 302  # the directory let them in again: reactivated
    assert User.objects.get(username=uid).is_active


def test_an_admins_deactivation_is_not_undone_by_the_directory(client, directory, admin_user):
    uid = directory.add_person(groups=[VIEWERS])
    sign_in(client, uid)
    user = User.objects.get(username=uid)
    services.user_set_active(actor=admin_user, user=user, active=False)
    client.logout()
    assert "deactivated" in sign_in(client, uid).content.decode()
    assert not User.objects.get(pk=user.pk).is_active


def test_directory_check_deactivates_gone_and_disabled_entries_only(client, directory):
    stays, leaves, disabled = (directory.add_person(groups=[VIEWERS]) for _ in range(3))
    sessions = {}
    for uid in (stays, leaves, disabled):
        browser = client.__class__()
        sign_in(browser, uid)
        sessions[uid] = browser
    directory.delete(leaves)
    directory.disable(disabled)

    result = directory_check()

    assert result["deactivated"] == 2
    active = dict(User.objects.filter(username__in=sessions).values_list("username", "is_active"))
    assert active == {stays: True, leaves: False, disabled: False}
    assert sessions[stays].get("/accounts/profile/").status_code == 200
    assert sessions[leaves].get("/accounts/profile/").status_code == 302  # signed out everywhere
    reasons = AuditEvent.objects.filter(event=Event.DEPROVISION).values_list("target_user__username", "detail")
    assert dict(reasons) == {
        leaves: {"provider": "ldap", "reason": "gone"},
        disabled: {"provider": "ldap", "reason": "disabled"},
    }
    assert directory_check()["checked"] == 1  # deactivated accounts are not checked again


def test_directory_check_deactivates_nobody_past_the_limit(client, directory, settings):
    settings.LDAP_DEPROVISION_MAX = 1
    gone = [directory.add_person(groups=[VIEWERS]) for _ in range(2)]
    for uid in gone:
        sign_in(client.__class__(), uid)
        directory.delete(uid)
    assert directory_check()["refused"] == 2
    assert User.objects.filter(username__in=gone, is_active=True).count() == 2
    assert not AuditEvent.objects.filter(event=Event.DEPROVISION).exists()


def test_directory_check_changes_nothing_when_the_directory_cannot_be_reached(client, directory, settings):
    uid = directory.add_person(groups=[VIEWERS])
    sign_in(client, uid)
    use_directory(settings, directory, LDAP_SERVER_URI="ldap://127.0.0.1:9")  # nothing listens there
    import ldap

    with pytest.raises(ldap.LDAPError):
        directory_check()
    assert User.objects.get(username=uid).is_active


def test_five_wrong_directory_passwords_lock_the_name_on_this_client(client, directory):
    uid = directory.add_person(groups=[VIEWERS])
    for _ in range(5):
        sign_in(client, uid, "Wrong-Password-1!")
    response = sign_in(client, uid)  # the right password, too late
    assert response.status_code == 429
    assert "locked on this computer" in response.content.decode()
    assert AccessAttempt.objects.get(username=uid).failures_since_start == 5
    assert not User.objects.filter(username=uid, last_login__isnull=False).exists()


def test_login_rate_limit_applies_to_directory_sign_ins(client, directory, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "login": "2/5m"}
    uid = directory.add_person(groups=[VIEWERS])
    assert sign_in(client, uid, "Wrong-Password-1!").status_code == 200
    assert sign_in(client, uid, "Wrong-Password-1!").status_code == 200
    response = sign_in(client, uid)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_unreachable_directory_is_said_and_not_counted_as_a_failure(client, directory, settings):
    uid = directory.add_person(groups=[VIEWERS])
    use_directory(settings, directory, LDAP_SERVER_URI="ldap://127.0.0.1:9")
    response = sign_in(client, uid)
    assert response.status_code == 200
    assert "The hospital directory cannot be reached" in response.content.decode()
    assert not AccessAttempt.objects.exists()
    assert AuditEvent.objects.get(event=Event.LOGIN_FAILURE).detail == {"reason": "directory_unavailable"}


@pytest.mark.parametrize(
    "setting",
    [{"LDAP_CA_FILE": "other"}, {"LDAP_START_TLS": False}],
    ids=["certificate-of-another-ca", "no-starttls"],
)
def test_no_password_travels_without_a_verified_tls_session(client, directory, settings, setting):
    """A certificate our CA did not sign is refused; the server refuses anything before StartTLS."""
    uid = directory.add_person(groups=[VIEWERS])
    if setting.get("LDAP_CA_FILE") == "other":
        setting = {"LDAP_CA_FILE": directory.other_ca_file}
    use_directory(settings, directory, **setting)
    response = sign_in(client, uid)
    assert "The hospital directory cannot be reached" in response.content.decode()
    assert not User.objects.filter(username=uid).exists()


def test_a_local_accounts_name_is_never_checked_against_the_directory(client, directory):
    """Someone named like a local account in the directory cannot take that account over."""
    local = UserFactory(username="dave", roles=[roles.VIEWER])
    directory.add_person("dave", groups=[EDITORS])
    assert "Invalid username or password." in sign_in(client, "dave", PASSWORD).content.decode()
    assert sign_in(client, "dave", LOCAL_PASSWORD).status_code == 302
    assert not ExternalIdentity.objects.exists()
    assert User.objects.get(pk=local.pk).roles == [roles.VIEWER]


def test_the_api_never_sends_a_password_to_the_directory(directory):
    uid = directory.add_person(groups=[VIEWERS])
    response = APIClient().post("/api/v1/auth/token/", {"username": uid, "password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert not User.objects.filter(username=uid).exists()  # the directory was never asked


def test_new_accounts_wait_for_approval_when_sso_does_not_create_users(client, directory, settings, staff_client):
    settings.SSO_CREATE_USERS = False
    uid = directory.add_person(groups=[VIEWERS, UPLOADERS])
    response = sign_in(client, uid)
    assert "awaiting approval" in response.content.decode()
    user = User.objects.get(username=uid)
    assert (user.is_active, user.approval_status, user.roles) == (False, "pending", [])
    listing = staff_client.get("/admin/accounts/pendingregistration/").content.decode()
    assert uid in listing
    services.user_approve(actor=None, user=user)
    assert sign_in(client, uid).status_code == 302
    assert User.objects.get(pk=user.pk).roles == [roles.VIEWER, roles.UPLOADER]


def test_staff_roles_from_the_directory_still_need_the_second_factor(client, directory):
    uid = directory.add_person(groups=[VIEWERS, EDITORS])
    assert sign_in(client, uid).status_code == 302
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/security/"
