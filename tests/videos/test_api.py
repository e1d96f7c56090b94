"""The videos API beyond upload: listing, visibility, edits, workflow, catalogue."""

import uuid

import pytest

from accounts import roles
from tests.factories import CategoryFactory, SurgeonFactory, TagFactory, VideoFactory, VideoSurgeonFactory
from videos.models import Category, Tag, Video

pytestmark = pytest.mark.django_db


def test_list_costs_the_same_number_of_queries_for_any_page_size(api, viewer, uploader, django_assert_num_queries):
    tags = [TagFactory(name="Laparoscopy"), TagFactory(name="Gallbladder")]
    rao = SurgeonFactory(name="Dr Rao", specialty="General surgery")
    category = CategoryFactory(name="General")
    api.force_authenticate(viewer)

    def fill(n):
        Video.objects.all().delete()
        for video in VideoFactory.create_batch(n, uploader=uploader, category=category, tags=tags):
            VideoSurgeonFactory(video=video, surgeon=rao, role="assistant")

    fill(1)
    api.get("/api/v1/videos/")  # warm the per-request user cache (roles) so only list queries are counted
    for n in (2, 12):
        fill(n)
        with django_assert_num_queries(10):  # page + count + 2 prefetches + facets (ids + 4 counts + steps)
            response = api.get("/api/v1/videos/")
        assert response.status_code == 200
        assert response.json()["count"] == n


def test_viewers_see_published_only_uploaders_also_their_own(api, viewer, uploader, make_user, editor):
    mine = VideoFactory(uploader=uploader, title="Case 1", status="processed")
    public = VideoFactory(uploader=uploader, title="Case 2")
    other = make_user(roles.VIEWER, roles.UPLOADER, username="otto")
    hidden = VideoFactory(uploader=other, title="Case 3", status="failed")
    api.force_authenticate(viewer)
    assert [v["id"] for v in api.get("/api/v1/videos/").json()["results"]] == [str(public.uuid)]
    api.force_authenticate(uploader)
    ids = {v["id"] for v in api.get("/api/v1/videos/").json()["results"]}
    assert ids == {str(mine.uuid), str(public.uuid)}
    assert api.get(f"/api/v1/videos/{hidden.uuid}/").status_code == 404
    api.force_authenticate(editor)
    assert api.get("/api/v1/videos/").json()["count"] == 3


@pytest.mark.parametrize(
    "status,job,playable,settled",
    [
        ("pending", False, False, False),
        ("processing", True, False, False),
        ("processed", False, True, True),
        ("published", False, True, True),
        ("published", True, True, False),  # reprocessing: still plays, but will change by itself
        ("failed", False, False, True),
        ("rejected", False, False, True),
        ("archived", False, False, True),
    ],
)
def test_playable_and_settled_tell_clients_when_to_play_and_stop_polling(api, uploader, status, job, playable, settled):
    video = VideoFactory(uploader=uploader, title="Case 1", status=status, job_token=uuid.uuid4() if job else None)
    api.force_authenticate(uploader)
    body = api.get(f"/api/v1/videos/{video.uuid}/").json()
    assert (body["playable"], body["settled"]) == (playable, settled)
    listed = api.get("/api/v1/videos/").json()["results"][0]
    assert (listed["playable"], listed["settled"]) == (playable, settled)


def test_bad_status_filter_is_400(api, viewer):
    api.force_authenticate(viewer)
    response = api.get("/api/v1/videos/?status=deleted")
    assert response.status_code == 400
    assert "status" in response.json()


def test_edit_metadata_with_names_and_surgeon_roles(api, uploader):
    CategoryFactory(name="Hepatobiliary")
    TagFactory(name="Laparoscopy")
    rao = SurgeonFactory(name="Dr Rao")
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed")
    api.force_authenticate(uploader)
    response = api.patch(
        f"/api/v1/videos/{video.uuid}/",
        {
            "title": "Lap chole",
            "category": "hepatobiliary",
            "tags": ["LAPAROSCOPY"],
            "surgeons": [{"id": rao.pk, "role": "primary"}],
            "date_of_surgery": "2026-03-14",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["category"] == "Hepatobiliary"
    assert body["tags"] == ["Laparoscopy"]
    assert body["surgeons"] == [{"id": rao.pk, "name": "Dr Rao", "specialty": "", "role": "primary"}]
    assert body["date_of_surgery"] == "2026-03-14"


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"title": ""}, "title"),
        ({"date_of_surgery": "2999-01-01"}, "date_of_surgery"),
        ({"date_of_surgery": "14/03/2026"}, "date_of_surgery"),
        ({"surgeons": [999]}, "surgeons"),
        ({"surgeons": [{"id": 1, "role": "captain"}]}, "surgeons"),
        ({"surgeons": "abc"}, "surgeons"),
        ({"tags": "Unknown tag"}, "tags"),
        ({"category": "Unknown"}, "category"),
        ({"title": ["a"]}, "title"),
    ],
)
def test_bad_metadata_is_400_naming_the_field(api, uploader, payload, field):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed")
    api.force_authenticate(uploader)
    response = api.patch(f"/api/v1/videos/{video.uuid}/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    video.refresh_from_db()
    assert video.title == "Case 1"


def test_workflow_needs_an_approver(api, uploader, approver):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed")
    api.force_authenticate(uploader)
    assert api.post(f"/api/v1/videos/{video.uuid}/publish/").status_code == 403
    api.force_authenticate(approver)
    assert api.post(f"/api/v1/videos/{video.uuid}/reject/", {}, format="json").status_code == 400
    rejected = api.post(f"/api/v1/videos/{video.uuid}/reject/", {"reason": "Face visible at 12:30"}, format="json")
    assert rejected.status_code == 200
    assert rejected.json()["review_note"] == "Face visible at 12:30"
    assert api.post(f"/api/v1/videos/{video.uuid}/publish/").json()["status"] == "published"
    assert api.post(f"/api/v1/videos/{video.uuid}/archive/").json()["status"] == "archived"
    failed = VideoFactory(uploader=uploader, title="Case 2", status="failed")
    response = api.post(f"/api/v1/videos/{failed.uuid}/publish/")
    assert response.status_code == 400
    assert "cannot be published" in response.json()["detail"]


def test_catalogue_read_for_all_write_for_editors(api, viewer, editor):
    api.force_authenticate(viewer)
    assert api.get("/api/v1/tags/").status_code == 200
    assert api.post("/api/v1/tags/", {"name": "Robotic"}, format="json").status_code == 403
    api.force_authenticate(editor)
    assert api.post("/api/v1/tags/", {"name": "Robotic"}, format="json").status_code == 201
    again = api.post("/api/v1/tags/", {"name": "ROBOTIC"}, format="json")
    assert again.status_code == 201 and again.json()["name"] == "Robotic"
    assert Tag.objects.count() == 1
    assert (
        api.post("/api/v1/surgeons/", {"name": "Dr Iyer", "specialty": "Ophthalmology"}, format="json").status_code
        == 201
    )
    assert api.post("/api/v1/categories/", {"name": ""}, format="json").status_code == 400


def test_uploader_may_delete_own_unpublished_but_not_published(api, uploader):
    draft = VideoFactory(uploader=uploader, title="Case 1", status="processed")
    live = VideoFactory(uploader=uploader, title="Case 2", status="published")
    api.force_authenticate(uploader)
    assert api.delete(f"/api/v1/videos/{live.uuid}/").status_code == 403
    assert api.delete(f"/api/v1/videos/{draft.uuid}/").status_code == 204
    assert not Video.objects.filter(pk=draft.pk).exists()


@pytest.mark.parametrize("model,url", [(Tag, "/api/v1/tags/"), (Category, "/api/v1/categories/")])
def test_a_name_added_by_another_request_meanwhile_is_returned_not_a_500(api, monkeypatch, model, url, editor):
    """Two editors add "Robotic" at once: the second insert meets the unique name; it gets the first's row."""
    from videos.services import catalogue

    api.force_authenticate(editor)
    looked_up = []

    def racing(found_model, name):
        looked_up.append(name)
        if len(looked_up) == 1:  # the other request inserts right after this check
            found_model.objects.create(name="robotic")
            return None
        return found_model.objects.filter(name__iexact=name).first()

    monkeypatch.setattr(catalogue, "_catalogue_entry", racing)
    response = api.post(url, {"name": "Robotic"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "robotic"  # the row the other request made
    assert model.objects.count() == 1
