"""
A video's metadata has one set of rules (videos.services.metadata.metadata_clean): every door —
the API, the edit page, the admin, a tus or multipart upload — changes the same fields and
audits the same ones for the same input.
"""

import pytest

from accounts import roles
from audit.models import AuditEvent
from tests.factories import CategoryFactory, SurgeonFactory, TagFactory, VideoFactory
from videos.models import Category, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    CategoryFactory(name="General")
    TagFactory(name="Laparoscopy")
    TagFactory(name="Hernia")
    return SurgeonFactory(name="Dr Rao")


def as_recorded(rao) -> dict:
    """A case awaiting review as it was recorded, before any door edits it."""
    return {
        "title": "Case 1",
        "description": "As recorded",
        "category": Category.objects.get(name="General"),
        "status": "processed",
        "tags": Tag.objects.filter(name="Laparoscopy"),
        "surgeons": [rao],
        "date_of_surgery": None,  # not given yet (the factory would fill it in for publishing)
    }


def edited_fields() -> list[list[str]]:
    return [event.detail["fields"] for event in AuditEvent.objects.filter(event="video_edit").order_by("id")]


def test_an_api_patch_with_the_current_title_audits_no_change(api, uploader, catalogue):
    """The drift: the API audited every field it was sent, the edit page only those it changed."""
    video = VideoFactory(uploader=uploader, **as_recorded(catalogue))
    api.force_authenticate(uploader)
    response = api.patch(f"/api/v1/videos/{video.uuid}/", {"title": "Case 1"}, format="json")
    assert response.status_code == 200, response.content
    assert edited_fields() == []


# The edit page always sends every field; the API is sent the same values.
SAME_INPUT = [
    ({"title": "Case 1"}, []),
    ({"title": "Case 1 (revised)"}, ["title"]),
    ({"description": "As recorded", "tags": "laparoscopy"}, []),  # tag names ignore case
    ({"category": "General", "tags": "Laparoscopy, Hernia"}, ["tags"]),
    ({"description": "Trimmed", "date_of_surgery": "2026-01-14"}, ["date_of_surgery", "description"]),
    ({"surgeons": "assistant"}, ["surgeons"]),
]


def _page_data(video, rao, changes: dict) -> dict:
    role = changes.pop("surgeons", "primary")
    data = {
        "title": video.title,
        "description": video.description,
        "transcript": "",
        "category": "General",
        "date_of_surgery": "",
        "tags": "Laparoscopy",
        "surgeons-TOTAL_FORMS": "1",
        "surgeons-INITIAL_FORMS": "1",
        "surgeons-0-surgeon": str(rao.pk),
        "surgeons-0-role": role,
        "action": "save",
    }
    return {**data, **changes}


def _api_data(video, rao, changes: dict) -> dict:
    role = changes.pop("surgeons", "primary")
    data = {
        "title": video.title,
        "description": video.description,
        "transcript": "",
        "category": "General",
        "date_of_surgery": None,
        "tags": "Laparoscopy",
        "surgeons": [{"id": rao.pk, "role": role}],
    }
    return {**data, **changes}


@pytest.mark.parametrize(("changes", "fields"), SAME_INPUT)
def test_the_page_and_the_api_audit_the_same_changed_fields(client, api, make_user, catalogue, changes, fields):
    rao = catalogue
    page_owner = make_user(roles.VIEWER, roles.UPLOADER, username="page")
    api_owner = make_user(roles.VIEWER, roles.UPLOADER, username="api")
    by_page = VideoFactory(uploader=page_owner, **as_recorded(rao))
    by_api = VideoFactory(uploader=api_owner, **as_recorded(rao))

    client.force_login(page_owner, backend="accounts.backends.UsernameOrEmailBackend")
    page = client.post(f"/videos/{by_page.uuid}/edit/", _page_data(by_page, rao, dict(changes)))
    assert page.status_code == 302 and page["Location"] == f"/videos/{by_page.uuid}/", page
    api.force_authenticate(api_owner)
    response = api.patch(f"/api/v1/videos/{by_api.uuid}/", _api_data(by_api, rao, dict(changes)), format="json")
    assert response.status_code == 200, response.content

    events = AuditEvent.objects.filter(event="video_edit")
    by_door = {event.actor.username: event.detail["fields"] for event in events}
    assert by_door == ({"page": fields, "api": fields} if fields else {})
    for video in (by_page, by_api):
        video.refresh_from_db()
    assert (by_page.title, by_page.description, by_page.date_of_surgery) == (
        by_api.title,
        by_api.description,
        by_api.date_of_surgery,
    )
    assert sorted(by_page.tags.values_list("name", flat=True)) == sorted(by_api.tags.values_list("name", flat=True))
    assert list(by_page.video_surgeons.values_list("surgeon", "role")) == list(
        by_api.video_surgeons.values_list("surgeon", "role")
    )


def test_the_reprocess_command_audits_without_an_actor(uploader, settings):
    """A command acts for nobody: it used to name the first administrator it found (and refused without one)."""
    from pathlib import Path

    from django.core.management import call_command

    video = VideoFactory(
        uploader=uploader,
        title="Case",
        status="failed",
        original_path="originals/x.mp4",
    )
    (Path(settings.MEDIA_ROOT) / "originals").mkdir(parents=True)
    (Path(settings.MEDIA_ROOT) / "originals" / "x.mp4").write_bytes(b"x")
    call_command("reprocess_videos", str(video.uuid))
    video.refresh_from_db()
    assert video.status == "pending" and video.job_token is not None
    event = AuditEvent.objects.get(event="video_reprocess")
    assert (event.actor, event.detail) == (None, {"video": str(video.uuid)})
