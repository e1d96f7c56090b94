"""
The access review (issue #17): Admins see every account with a role, where each role came
from (local or the directory), its last sign-in, last view and last review; they confirm or
revoke each (audited), export CSV; nobody else gets the page or its buttons.
"""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import roles
from accounts.models import ExternalIdentity
from audit.models import AuditEvent
from governance.models import AccessReview
from tests.factories import VideoFactory, ViewEventFactory
from tests.signin import otp_client

pytestmark = pytest.mark.django_db

URL = "/admin/access-review/"


@pytest.fixture
def people(make_user, viewer, uploader):
    """A directory account, two local ones (the fixtures), and one without any role."""
    sso = make_user(roles.VIEWER, roles.UPLOADER, username="sid", full_name='=HYPERLINK("x")')
    ExternalIdentity.objects.create(
        user=sso, provider="ldap", subject="u-1", roles={roles.VIEWER: ["cn=surgeons"], roles.UPLOADER: ["*"]}
    )
    make_user(username="nobody")
    seen = timezone.now() - timedelta(days=3)
    ViewEventFactory(user=viewer, video=VideoFactory(uploader=uploader), started_at=seen)
    return {"sso": sso, "seen": seen}


def rows(response) -> dict:
    html = response.content.decode()
    return {name: name in html for name in ("sid", "vera", "uma", "ada", "nobody")}


def test_admin_sees_every_account_with_a_role_and_where_it_came_from(client, admin_user, people, viewer):
    viewer.last_login = timezone.now() - timedelta(days=1)
    viewer.save(update_fields=["last_login"])
    otp_client(admin_user, client)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-account="sid"' in html and 'data-account="vera"' in html and 'data-account="ada"' in html
    assert 'data-account="nobody"' not in html
    assert "<strong>Viewer</strong>: LDAP directory group cn=surgeons" in html
    assert "<strong>Uploader</strong>: LDAP directory: every account (SSO_DEFAULT_ROLES)" in html
    assert "<strong>Viewer</strong>: granted by an administrator" in html
    assert timezone.localtime(people["seen"]).strftime("%-d %b %Y %H:%M") in html
    # Linked from the dashboard.
    assert 'href="/admin/access-review/"' in client.get("/admin/dashboard/").content.decode()


def test_the_page_costs_the_same_queries_at_any_size(client, admin_user, make_user):
    otp_client(admin_user, client)
    client.get(URL)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    few = count()
    for n in range(12):
        user = make_user(roles.VIEWER, username=f"p{n}")
        ViewEventFactory(user=user)
        ExternalIdentity.objects.create(user=user, provider="oidc", subject=f"s{n}", roles={roles.VIEWER: ["g"]})
    assert count() == few


def test_confirm_and_revoke_are_recorded(client, api, admin_user, people, uploader):
    otp_client(admin_user, client)
    client.post(URL, {"user": people["sso"].pk, "action": "confirm"})
    entry = AccessReview.objects.get(user=people["sso"])
    assert (entry.decision, entry.reviewer, entry.roles) == ("confirmed", admin_user, ["Viewer", "Uploader"])
    assert AuditEvent.objects.filter(event="role_change", detail__governance="access_confirmed").count() == 1
    assert "Confirmed " in client.get(URL).content.decode()

    published = VideoFactory()
    response = client.post(URL, {"user": uploader.pk, "action": "revoke"}, follow=True)
    assert "Every role of uma removed." in response.content.decode()
    uploader.refresh_from_db()
    assert list(uploader.groups.all()) == []
    assert AccessReview.objects.get(user=uploader).decision == "revoked"
    change = AuditEvent.objects.get(event="role_change", target_user=uploader, detail__removed__isnull=False)
    assert change.detail["removed"] == ["Uploader", "Viewer"]
    api.force_authenticate(uploader)
    assert api.get(f"/api/v1/videos/{published.uuid}/").status_code == 404
    assert 'data-account="uma"' not in client.get(URL).content.decode()


def test_an_admin_cannot_revoke_themself(client, admin_user):
    otp_client(admin_user, client)
    response = client.post(URL, {"user": admin_user.pk, "action": "revoke"}, follow=True)
    assert "You cannot revoke your own access" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.roles == roles.ROLES


@pytest.mark.parametrize("role", [roles.EDITOR, roles.APPROVER])
def test_nobody_else_gets_the_page_or_its_buttons(client, make_staff, viewer, role):
    make_staff(role, client)
    assert client.get(URL).status_code == 403
    assert client.get(URL + "?export=csv").status_code == 403
    assert client.post(URL, {"user": viewer.pk, "action": "revoke"}).status_code == 403
    viewer.refresh_from_db()
    assert viewer.roles == [roles.VIEWER]
    assert not AccessReview.objects.exists()


def test_csv_export(client, admin_user, people):
    otp_client(admin_user, client)
    response = client.get(URL + "?export=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0] == [
        "username",
        "full name",
        "e-mail",
        "active",
        "roles (source)",
        "last sign-in",
        "last view",
        "last review",
        "reviewed by",
    ]
    by_name = {line[0]: line for line in lines[1:]}
    assert set(by_name) == {"ada", "sid", "uma", "vera"}
    assert by_name["sid"][1] == '\'=HYPERLINK("x")'  # a formula is read as text
    assert by_name["sid"][4] == (
        "Viewer (LDAP directory group cn=surgeons); Uploader (LDAP directory: every account (SSO_DEFAULT_ROLES))"
    )
    assert by_name["vera"][6] == people["seen"].isoformat()
