"""
Who sees what in Django admin: the index, every add/change/delete URL and the video actions,
per role. The expectations come from the permission table in accounts/roles.py; the
concrete lists pin them down so a change to that table shows up here.
"""

import pytest
from django.contrib import admin

from accounts import roles
from accounts.models import User
from audit.models import AuditEvent
from tests.factories import SurgeonFactory, TOTPDeviceFactory, VideoFactory
from videos.models import Tag, Video

pytestmark = pytest.mark.django_db

STAFF_ROLES = [roles.EDITOR, roles.APPROVER, roles.ADMIN]

# Admin screens whose visibility follows another permission than their model's own.
VIEWED_THROUGH = {
    "accounts.pendingregistration": "accounts.approve_registration",
    "library.viewevent": "audit.view_auditevent",
}

EDITOR_ENTRIES = {
    "videos.video",
    "videos.tag",
    "videos.category",
    "videos.surgeon",
    "library.searchsynonym",
    "teaching.step",  # a category's step vocabulary, curated with the catalogue (issue #16)
}
PRIVACY_ENTRIES = {"privacy.privacyscan", "privacy.privacyrange", "privacy.mask"}  # approvers and up (issue #17)
EXPECTED_INDEX = {
    roles.EDITOR: EDITOR_ENTRIES,
    roles.APPROVER: EDITOR_ENTRIES | PRIVACY_ENTRIES,
    roles.ADMIN: EDITOR_ENTRIES
    | PRIVACY_ENTRIES
    | {
        "accounts.user",
        "accounts.pendingregistration",
        "audit.auditevent",
        "axes.accessattempt",
        "axes.accessfailurelog",
        "axes.accesslog",
        "library.viewevent",
        "governance.retentionpolicy",
        "governance.deletiondue",
        "governance.legalhold",
        "governance.accessreview",
    },
}

EXPECTED_VIDEO_ACTIONS = {
    roles.EDITOR: {"reprocess", "add_tag", "set_category", "add_surgeon"},
    roles.APPROVER: {"reprocess", "add_tag", "set_category", "add_surgeon", "publish", "reject", "archive"},
    roles.ADMIN: {
        "reprocess",
        "add_tag",
        "set_category",
        "add_surgeon",
        "publish",
        "reject",
        "archive",
        "delete_selected",
    },
}


def label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def role_permissions(role: str) -> set[str]:
    return set(roles.permissions_for(role))


def expected_entries(role: str) -> set[str]:
    """Registered admin models the role may view or change, by the roles table."""
    perms = role_permissions(role)
    entries = set()
    for model in admin.site._registry:
        name = label(model)
        opts = model._meta
        own = {f"{opts.app_label}.view_{opts.model_name}", f"{opts.app_label}.change_{opts.model_name}"}
        if own & perms or VIEWED_THROUGH.get(name) in perms:
            entries.add(name)
    return entries


def index_entries(response) -> set[str]:
    return {
        f"{app['app_label']}.{model['object_name'].lower()}"
        for app in response.context["app_list"]
        for model in app["models"]
    }


@pytest.fixture
def video(uploader):
    return VideoFactory(uploader=uploader, title="Whipple", status="processed")


# ------------------------------------------------------------------------------ the index


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_index_shows_exactly_the_models_of_the_role(client, make_staff, role):
    make_staff(role, client)
    response = client.get("/admin/")
    assert response.status_code == 200
    entries = index_entries(response)
    assert entries == expected_entries(role)
    assert entries == EXPECTED_INDEX[role]
    html = response.content.decode()
    for name in entries:
        assert f'href="/admin/{name.replace(".", "/")}/"' in html
    for model in admin.site._registry:
        if label(model) not in entries:
            assert f'href="/admin/{label(model).replace(".", "/")}/"' not in html


def test_the_role_table_gives_approvers_only_the_privacy_screens_extra():
    # Editors already see videos in every state (view_all_videos); approvers add the decision,
    # the legal hold (set on the review page and the API, not an admin screen) and the privacy
    # screens (scans and ranges to read, masks to keep: issue #17).
    assert role_permissions(roles.APPROVER) - role_permissions(roles.EDITOR) == {
        "videos.publish_video",
        "governance.set_legal_hold",
        "privacy.view_privacyscan",
        "privacy.view_privacyrange",
        "privacy.view_mask",
        "privacy.add_mask",
        "privacy.change_mask",
        "privacy.delete_mask",
    }
    assert "videos.view_all_videos" in role_permissions(roles.EDITOR)
    assert expected_entries(roles.APPROVER) == expected_entries(roles.EDITOR) | PRIVACY_ENTRIES


@pytest.mark.parametrize("role", [roles.VIEWER, roles.UPLOADER])
def test_signed_in_without_an_admin_role_is_refused(client, make_member, role):
    user = make_member(role)
    client.force_login(user, backend="accounts.backends.UsernameOrEmailBackend")
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert response.redirect_chain == [("/admin/login/?next=/admin/", 302)]
    assert client.get("/admin/videos/video/", follow=True).status_code == 403
    assert client.get("/admin/videos/tag/add/", follow=True).status_code == 403


def test_editor_without_the_second_factor_in_this_session_is_refused(client, make_user):
    editor = make_user(roles.VIEWER, roles.EDITOR)

    TOTPDeviceFactory(user=editor)
    client.force_login(editor, backend="accounts.backends.UsernameOrEmailBackend")
    # The session never passed the second factor: it is ended and sent to sign in again.
    response = client.get("/admin/videos/video/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_anonymous_is_sent_to_the_site_sign_in(client):
    response = client.get("/admin/videos/video/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/?next=")


# ------------------------------------------------------------------------------ every URL


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_url_outside_the_role_answers_403(client, make_staff, role):
    """
    For every registered model: list, add, change and delete, by GET and POST. Where the
    role lacks the permission the answer is 403 (the pk does not exist, and Django checks
    the permission before looking the row up, so no row is needed).
    """
    make_staff(role, client)
    perms = role_permissions(role)
    visible = expected_entries(role)
    checked = 0
    for model in admin.site._registry:
        name = label(model)
        base = f"/admin/{name.replace('.', '/')}/"
        app, model_name = name.split(".")
        lacks = {action: f"{app}.{action}_{model_name}" not in perms for action in ("add", "change", "delete")}
        requests = []
        if name not in visible:
            requests += [("get", base), ("get", f"{base}999999/change/")]
        if lacks["add"]:
            requests += [("get", f"{base}add/"), ("post", f"{base}add/")]
        if lacks["change"]:
            requests += [("post", f"{base}999999/change/")]
        if lacks["delete"]:
            requests += [("get", f"{base}999999/delete/"), ("post", f"{base}999999/delete/")]
        for method, url in requests:
            response = getattr(client, method)(url, {"post": "yes"} if method == "post" else None)
            assert response.status_code == 403, (role, method, url, response.status_code)
            checked += 1
    assert checked > 30


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_visible_screens_answer_200(client, make_staff, role, video):
    make_staff(role, client)
    for name in expected_entries(role):
        assert client.get(f"/admin/{name.replace('.', '/')}/").status_code == 200, name
    assert client.get(f"/admin/videos/video/{video.pk}/change/").status_code == 200


def test_editor_cannot_open_users_audit_or_axes(client, make_staff, viewer):
    make_staff(roles.EDITOR, client)
    for url in [
        "/admin/accounts/user/",
        f"/admin/accounts/user/{viewer.pk}/change/",
        "/admin/audit/auditevent/",
        "/admin/accounts/pendingregistration/",
        "/admin/axes/accessattempt/",
        "/admin/videos/upload/",
        "/admin/library/viewevent/",
    ]:
        assert client.get(url).status_code == 403, url
    response = client.post(f"/admin/accounts/user/{viewer.pk}/change/", {"is_active": ""})
    assert response.status_code == 403
    viewer.refresh_from_db()
    assert viewer.is_active


@pytest.mark.parametrize("role", [roles.EDITOR, roles.APPROVER])
def test_only_admins_delete_videos(client, make_staff, role, video):
    make_staff(role, client)
    assert client.get(f"/admin/videos/video/{video.pk}/delete/").status_code == 403
    assert client.post(f"/admin/videos/video/{video.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post("/admin/videos/video/", {"action": "delete_selected", "_selected_action": [video.pk], "post": "yes"})
    assert Video.objects.filter(pk=video.pk).exists()
    assert not AuditEvent.objects.filter(event="video_delete").exists()


def test_admin_deletes_a_video_through_the_service(client, make_staff, video):
    admin_ = make_staff(roles.ADMIN, client)
    assert client.get(f"/admin/videos/video/{video.pk}/delete/").status_code == 200
    response = client.post(f"/admin/videos/video/{video.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Video.objects.filter(pk=video.pk).exists()
    assert AuditEvent.objects.get(event="video_delete").actor == admin_


# ------------------------------------------------------------------------------ video actions


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_video_actions_offered_per_role(client, make_staff, role, video):
    make_staff(role, client)
    response = client.get("/admin/videos/video/")
    offered = {name for name, _ in response.context["action_form"].fields["action"].choices if name}
    assert offered == EXPECTED_VIDEO_ACTIONS[role]
    html = response.content.decode()
    assert ('<option value="publish">' in html) == (role != roles.EDITOR)


@pytest.mark.parametrize("action", ["publish", "archive", "reject"])
def test_editor_posting_a_workflow_action_is_refused(client, make_staff, video, action):
    make_staff(roles.EDITOR, client)
    response = client.post(
        "/admin/videos/video/", {"action": action, "_selected_action": [video.pk], "reason": "x", "post": "yes"}
    )
    assert response.status_code == 302
    video.refresh_from_db()
    assert (video.status, video.review_note) == ("processed", "")
    assert not AuditEvent.objects.filter(event__in=["video_publish", "video_archive", "video_reject"]).exists()


def test_approver_publishes_through_the_service(client, make_staff, video):
    approver = make_staff(roles.APPROVER, client)
    response = client.post("/admin/videos/video/", {"action": "publish", "_selected_action": [video.pk]})
    assert response.status_code == 302
    video.refresh_from_db()
    assert video.status == "published"
    assert AuditEvent.objects.get(event="video_publish").actor == approver


def test_status_is_never_a_form_field(client, make_staff, video):
    make_staff(roles.ADMIN, client)
    response = client.get(f"/admin/videos/video/{video.pk}/change/")
    form = response.context["adminform"].form
    assert "status" not in form.fields and "review_note" not in form.fields
    assert 'name="status"' not in response.content.decode()


# ------------------------------------------------------------------------------ catalogue


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_staff_role_curates_the_catalogue(client, make_staff, role):
    make_staff(role, client)
    response = client.post("/admin/videos/tag/add/", {"name": "Robotic"})
    assert response.status_code == 302
    tag = Tag.objects.get(name="Robotic")
    offered = {name for name, _ in client.get("/admin/videos/tag/").context["action_form"].fields["action"].choices}
    assert {"merge", "delete_selected"} <= offered
    assert client.post(f"/admin/videos/tag/{tag.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Tag.objects.filter(pk=tag.pk).exists()


def test_surgeon_account_link_is_read_only_without_user_rights(client, make_staff):

    surgeon = SurgeonFactory(name="Dr Iyer")
    make_staff(roles.EDITOR, client)
    form = client.get(f"/admin/videos/surgeon/{surgeon.pk}/change/").context["adminform"].form
    assert "user" not in form.fields

    other = User.objects.create_user(username="iyer", email="iyer@hospital.example", password="x-Long-Pass-1!")
    admin_client = client.__class__()
    make_staff(roles.ADMIN, admin_client)
    form = admin_client.get(f"/admin/videos/surgeon/{surgeon.pk}/change/").context["adminform"].form
    assert "user" in form.fields
    response = admin_client.post(f"/admin/videos/surgeon/{surgeon.pk}/change/", {"name": "Dr Iyer", "user": other.pk})
    assert response.status_code == 302
    surgeon.refresh_from_db()
    assert surgeon.user == other
