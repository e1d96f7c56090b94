"""Chapters API: GET for anyone who may watch, PUT for the owner and Editors+, every rule a 400 naming the item."""

import pytest

from audit.models import AuditEvent
from teaching.models import Chapter, Step
from tests.factories import CategoryFactory, VideoFactory

pytestmark = pytest.mark.django_db


def url(video):
    return f"/api/v1/videos/{video.uuid}/chapters/"


def body(steps):
    return [
        {"start": 30, "title": "Critical view", "step": steps[2].pk},
        {"start": 0, "title": "Ports", "step": steps[0].pk},
        {"start": 75.5, "title": "Free text chapter", "step": None},
    ]


def test_owner_replaces_chapters_and_everyone_who_may_watch_reads_them(as_user, uploader, viewer, video, steps):
    response = as_user(uploader).put(url(video), body(steps), format="json")
    assert response.status_code == 200
    expected = [
        {"start": 0.0, "end": 30.0, "title": "Ports", "step": steps[0].pk},
        {"start": 30.0, "end": 75.5, "title": "Critical view", "step": steps[2].pk},
        {"start": 75.5, "end": 120.0, "title": "Free text chapter", "step": None},
    ]
    assert response.json() == expected
    assert list(Chapter.objects.filter(video=video).values_list("start", "title")) == [
        (0.0, "Ports"),
        (30.0, "Critical view"),
        (75.5, "Free text chapter"),
    ]
    assert AuditEvent.objects.filter(event="video_edit", detail__fields=["chapters"]).count() == 1

    reader = as_user(viewer)
    assert reader.get(url(video)).json() == expected
    # The video's representation carries them.
    assert reader.get(f"/api/v1/videos/{video.uuid}/").json()["chapters"] == expected


def test_put_replaces_the_whole_list(as_user, uploader, video, steps):
    client = as_user(uploader)
    client.put(url(video), body(steps), format="json")
    response = client.put(url(video), [{"start": 10, "title": "Only one"}], format="json")
    assert response.json() == [{"start": 10.0, "end": 120.0, "title": "Only one", "step": None}]
    assert Chapter.objects.filter(video=video).count() == 1
    assert client.put(url(video), [], format="json").json() == []
    assert not Chapter.objects.filter(video=video).exists()


def test_editor_writes_chapters_of_any_video(as_user, editor, video, steps):
    response = as_user(editor).put(url(video), body(steps), format="json")
    assert response.status_code == 200
    assert Chapter.objects.filter(video=video).count() == 3


def test_a_viewer_reads_but_may_not_write(as_user, viewer, video, steps):
    Chapter.objects.create(video=video, start=5, title="Kept")
    response = as_user(viewer).put(url(video), body(steps), format="json")
    assert response.status_code == 403
    assert list(Chapter.objects.filter(video=video).values_list("title", flat=True)) == ["Kept"]


def test_another_uploader_may_not_write_someone_elses_video(as_user, make_user, video, steps):
    from accounts import roles

    other = make_user(roles.VIEWER, roles.UPLOADER, username="olga")
    assert as_user(other).put(url(video), body(steps), format="json").status_code == 403
    assert not Chapter.objects.filter(video=video).exists()


@pytest.mark.parametrize("method", ["get", "put"])
def test_a_stranger_and_an_invisible_video_are_404(as_user, stranger, viewer, uploader, category, method):
    published = VideoFactory(uploader=uploader, category=category, duration=60)
    unpublished = VideoFactory(uploader=uploader, category=category, duration=60, status="processed")
    Chapter.objects.create(video=unpublished, start=1, title="Secret")
    for user, video in [(stranger, published), (viewer, unpublished)]:
        response = getattr(as_user(user), method)(url(video), [{"start": 1, "title": "x"}], format="json")
        assert response.status_code == 404, (user, video)
    assert list(Chapter.objects.values_list("title", flat=True)) == ["Secret"]


def test_signed_out_is_refused(api, video):
    assert api.get(url(video)).status_code == 401


@pytest.mark.parametrize(
    "items,errors",
    [
        ([{"start": -1, "title": "a"}], {"[0].start": ["Start within the video: from 0 to under 120 seconds."]}),
        ([{"start": 120, "title": "a"}], {"[0].start": ["Start within the video: from 0 to under 120 seconds."]}),
        ([{"start": "10", "title": "a"}], {"[0].start": ["Give start as a number of seconds."]}),
        ([{"start": None, "title": "a"}], {"[0].start": ["Give start as a number of seconds."]}),
        ([{"start": True, "title": "a"}], {"[0].start": ["Give start as a number of seconds."]}),
        (
            [{"start": 1, "title": "a"}, {"start": 5, "title": "b"}, {"start": 1.0, "title": "c"}],
            {"[2].start": ["Another chapter ([0]) starts at the same time."]},
        ),
        ([{"start": 1, "title": "  "}], {"[0].title": ["Give the chapter a title."]}),
        ([{"start": 1}], {"[0].title": ["Give the chapter a title."]}),
        ([{"start": 1, "title": "x" * 121}], {"[0].title": ["At most 120 characters."]}),
        ([{"start": 1, "title": 5}], {"[0].title": ["Give the chapter a title."]}),
        ([{"start": 1, "title": "a", "step": 999999}], {"[0].step": ["Not a step of this video's category."]}),
        ([{"start": 1, "title": "a", "step": "1"}], {"[0].step": ["Not a step of this video's category."]}),
        ([{"start": 1, "title": "a", "step": {"id": 1}}], {"[0].step": ["Not a step of this video's category."]}),
        ([{"start": 1, "title": "a", "step": [1]}], {"[0].step": ["Not a step of this video's category."]}),
        ([{"start": 1, "title": "a", "colour": "red"}], {"[0].colour": ["Unknown field (use start, title and step)."]}),
        (["chapter"], {"[0]": ["Each chapter is an object: {start, title, step}."]}),
        ({"start": 1, "title": "a"}, {"chapters": ["Send a list of chapters: [{start, title, step}]."]}),
        ([{"start": n, "title": "a"} for n in range(201)], {"chapters": ["At most 200 chapters."]}),
    ],
)
def test_bad_input_is_a_400_naming_the_item(as_user, uploader, video, steps, items, errors):
    Chapter.objects.create(video=video, start=5, title="Kept")
    response = as_user(uploader).put(url(video), items, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid input.", **errors}
    assert list(Chapter.objects.filter(video=video).values_list("title", flat=True)) == ["Kept"]


def test_a_step_of_another_category_is_refused(as_user, uploader, video, steps):
    foreign = Step.objects.create(category=CategoryFactory(name="Hernia"), name="Mesh placement")
    response = as_user(uploader).put(url(video), [{"start": 1, "title": "a", "step": foreign.pk}], format="json")
    assert response.status_code == 400
    assert response.json()["[0].step"] == ["Not a step of this video's category."]


def test_a_deleted_step_leaves_a_free_text_chapter(as_user, uploader, video, steps):
    as_user(uploader).put(url(video), [{"start": 1, "title": "Clips", "step": steps[3].pk}], format="json")
    steps[3].delete()
    assert as_user(uploader).get(url(video)).json() == [{"start": 1.0, "end": 120.0, "title": "Clips", "step": None}]


def test_chapter_list_costs_a_constant_number_of_queries(as_user, viewer, video, django_assert_num_queries):
    client = as_user(viewer)
    client.get(url(video))
    for count in (2, 20):
        Chapter.objects.filter(video=video).delete()
        Chapter.objects.bulk_create(Chapter(video=video, start=n, title=f"c{n}") for n in range(count))
        with django_assert_num_queries(2):  # the video, its chapters
            assert len(client.get(url(video)).json()) == count


def test_editors_keep_the_step_vocabulary_in_admin(editor_client, category):
    response = editor_client.post(
        "/admin/teaching/step/add/",
        {"category": category.pk, "name": "Extraction", "position": 5, "colour": "#aa3300"},
    )
    assert response.status_code == 302
    step = Step.objects.get()
    assert (step.name, step.position, step.colour) == ("Extraction", 5, "#aa3300")
    bad = editor_client.post(
        "/admin/teaching/step/add/", {"category": category.pk, "name": "Other", "position": 1, "colour": "red"}
    )
    assert bad.status_code == 200
    assert "Give a colour as #rrggbb." in bad.content.decode()
    assert Step.objects.count() == 1


def test_uploaders_do_not_reach_the_step_admin(client, uploader, category):
    from tests.signin import otp_client

    otp_client(uploader, client)
    response = client.get("/admin/teaching/step/add/")
    assert response.status_code == 302  # the admin site's sign-in: uploaders may not use the admin
    assert response["Location"].startswith("/admin/login/")
    assert not Step.objects.exists()
