"""
The step vocabulary's admin (teaching.admin.StepAdmin) follows the teaching app's own model
permissions (``teaching.view_step`` … ``teaching.delete_step``), which the Editor role holds
(accounts.roles), and not the catalogue's ``videos.change_category``.
"""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts import roles
from teaching.models import Step

pytestmark = pytest.mark.django_db

STEP_PERMISSIONS = {"view_step", "add_step", "change_step", "delete_step"}


@pytest.fixture
def step(category):
    return Step.objects.create(category=category, name="Port placement", position=0, colour="")


def change(client, step, **fields):
    data = {"category": step.category_id, "name": step.name, "position": step.position, "colour": step.colour}
    return client.post(f"/admin/teaching/step/{step.pk}/change/", {**data, **fields})


def take_from_editors(codename: str, app_label: str) -> None:
    Group.objects.get(name=roles.EDITOR).permissions.remove(
        Permission.objects.get(codename=codename, content_type__app_label=app_label)
    )


def test_the_editor_group_holds_the_step_permissions_and_viewers_do_not():
    def held(role):
        return set(
            Group.objects.get(name=role)
            .permissions.filter(content_type__app_label="teaching", codename__endswith="_step")
            .values_list("codename", flat=True)
        )

    assert held(roles.EDITOR) == STEP_PERMISSIONS
    assert held(roles.APPROVER) == STEP_PERMISSIONS  # each role includes the ones before it
    assert held(roles.VIEWER) == set()
    assert held(roles.UPLOADER) == set()


def test_an_editor_edits_steps_in_admin(editor_client, step):
    assert editor_client.get("/admin/teaching/step/").status_code == 200
    assert editor_client.get(f"/admin/teaching/step/{step.pk}/change/").status_code == 200
    response = change(editor_client, step, name="Ports under vision", colour="#0ea5e9")
    assert response.status_code == 302
    assert response["Location"] == "/admin/teaching/step/"
    step.refresh_from_db()
    assert (step.name, step.colour) == ("Ports under vision", "#0ea5e9")


def test_a_viewer_does_not(viewer_client, step):
    response = viewer_client.get("/admin/teaching/step/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/teaching/step/"
    response = change(viewer_client, step, name="Changed")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next=/admin/teaching/step/{step.pk}/change/"
    step.refresh_from_db()
    assert step.name == "Port placement"


def test_the_step_permission_decides_not_the_category_one(editor_client, editor, step):
    # Without teaching.change_step an editor may still look, but not change — though they
    # still hold videos.change_category.
    take_from_editors("change_step", "teaching")
    assert editor.has_perm("videos.change_category")
    assert editor_client.get(f"/admin/teaching/step/{step.pk}/change/").status_code == 200  # read-only view
    assert change(editor_client, step, name="Changed").status_code == 403
    step.refresh_from_db()
    assert step.name == "Port placement"


def test_the_category_permission_is_not_needed(editor_client, step):
    take_from_editors("change_category", "videos")
    response = change(editor_client, step, name="Changed")
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.name == "Changed"
