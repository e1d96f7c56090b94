"""Comments API: anyone who may watch reads and writes; authors edit their own; Editors+ moderate; private notes."""

import json

import pytest
from django.core import mail

from teaching.models import Comment, Notification
from teaching.services import unread_count
from tests.factories import VideoFactory

pytestmark = pytest.mark.django_db


def url(video, cid=None):
    base = f"/api/v1/videos/{video.uuid}/comments/"
    return f"{base}{cid}/" if cid else base


def test_a_viewer_posts_at_a_moment_and_everyone_who_may_watch_reads_it(as_user, viewer, other_viewer, video):
    response = as_user(viewer).post(
        url(video), {"body": "Bleed starts <here> https://example.org/x", "at": 72.5}, format="json"
    )
    assert response.status_code == 201
    data = response.json()
    comment = Comment.objects.get()
    assert data == {
        "id": comment.pk,
        "body": "Bleed starts <here> https://example.org/x",
        "body_html": 'Bleed starts &lt;here&gt; <a href="https://example.org/x" rel="nofollow">https://example.org/x</a>',
        "at": 72.5,
        "end": None,
        "parent": None,
        "private": False,
        "author": "vera",
        "created_at": data["created_at"],
        "edited_at": None,
        "can_change": True,
    }
    listed = as_user(other_viewer).get(url(video)).json()
    assert [(c["id"], c["author"], c["can_change"]) for c in listed] == [(comment.pk, "vera", False)]


def test_replies_thread_one_level(as_user, viewer, other_viewer, video):
    top = as_user(viewer).post(url(video), {"body": "Why here?", "at": 10}, format="json").json()
    reply = as_user(other_viewer).post(url(video), {"body": "Traction", "parent": top["id"]}, format="json")
    assert reply.status_code == 201
    assert reply.json()["parent"] == top["id"]
    deeper = as_user(viewer).post(url(video), {"body": "Deeper", "parent": reply.json()["id"]}, format="json")
    assert deeper.status_code == 400
    assert deeper.json() == {
        "detail": "Invalid input.",
        "parent": ["Reply to the comment itself: replies are one level deep."],
    }
    other_video = VideoFactory(duration=30)
    elsewhere = as_user(viewer).post(url(other_video), {"body": "x", "parent": top["id"]}, format="json")
    assert elsewhere.json()["parent"] == ["No such comment on this video."]
    assert Comment.objects.count() == 2


@pytest.mark.parametrize(
    "payload,errors",
    [
        ({"body": "x", "at": -1}, {"at": ["A moment within the video: from 0 to 120 seconds."]}),
        ({"body": "x", "at": 120.5}, {"at": ["A moment within the video: from 0 to 120 seconds."]}),
        ({"body": "x", "at": "ten"}, {"at": ["Give at as a number of seconds."]}),
        ({"body": "x", "at": 10, "end": 5}, {"end": ["After at and no later than 120 seconds."]}),
        ({"body": "x", "at": 10, "end": 121}, {"end": ["After at and no later than 120 seconds."]}),
        ({"body": "x", "end": 5}, {"end": ["Give at (the start) with end."]}),
        ({"body": "  "}, {"body": ["Write something."]}),
        ({}, {"body": ["Write something."]}),
        ({"body": "x" * 5001}, {"body": ["At most 5000 characters."]}),
        ({"body": "x", "private": "yes"}, {"private": ["Give true or false."]}),
        ({"body": "x", "parent": "1"}, {"parent": ["Give the id of the comment you reply to."]}),
        ({"body": "x", "parent": 999999}, {"parent": ["No such comment on this video."]}),
    ],
)
def test_bad_input_is_a_400_naming_the_field(as_user, viewer, video, payload, errors):
    response = as_user(viewer).post(url(video), payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid input.", **errors}
    assert not Comment.objects.exists()


def test_a_range_is_kept(as_user, viewer, video):
    data = as_user(viewer).post(url(video), {"body": "Dissection", "at": 10, "end": 20.5}, format="json").json()
    assert (data["at"], data["end"]) == (10.0, 20.5)


def test_authors_edit_and_delete_their_own_others_may_not(as_user, viewer, other_viewer, video):
    cid = as_user(viewer).post(url(video), {"body": "Mine", "at": 5}, format="json").json()["id"]
    assert as_user(other_viewer).patch(url(video, cid), {"body": "Hijack"}, format="json").status_code == 403
    assert as_user(other_viewer).delete(url(video, cid)).status_code == 403
    edited = as_user(viewer).patch(url(video, cid), {"body": "Mine, edited", "at": 6}, format="json")
    assert edited.status_code == 200
    assert (edited.json()["body"], edited.json()["at"]) == ("Mine, edited", 6.0)
    assert edited.json()["edited_at"] is not None
    bad = as_user(viewer).patch(url(video, cid), {"at": 500}, format="json")
    assert bad.status_code == 400
    assert Comment.objects.get().at == 6.0
    assert as_user(viewer).delete(url(video, cid)).status_code == 204
    assert not Comment.objects.exists()


def test_editors_moderate_shared_comments(as_user, viewer, editor, video):
    cid = as_user(viewer).post(url(video), {"body": "Rude"}, format="json").json()["id"]
    assert as_user(editor).get(url(video)).json()[0]["can_change"] is True
    assert as_user(editor).patch(url(video, cid), {"body": "[removed]"}, format="json").status_code == 200
    assert Comment.objects.get().body == "[removed]"
    assert as_user(editor).delete(url(video, cid)).status_code == 204
    assert not Comment.objects.exists()


def test_private_notes_are_their_authors_alone(as_user, viewer, other_viewer, editor, video):
    note = as_user(viewer).post(url(video), {"body": "My study note @wes", "at": 3, "private": True}, format="json")
    assert note.status_code == 201
    cid = note.json()["id"]
    assert [c["id"] for c in as_user(viewer).get(url(video)).json()] == [cid]
    for reader in (other_viewer, editor):
        assert as_user(reader).get(url(video)).json() == []
        assert as_user(reader).patch(url(video, cid), {"body": "x"}, format="json").status_code == 404
        assert as_user(reader).delete(url(video, cid)).status_code == 404
        reply = as_user(reader).post(url(video), {"body": "x", "parent": cid}, format="json")
        assert reply.json()["parent"] == ["No such comment on this video."]
    assert not Notification.objects.exists()  # a private note mentions nobody
    assert Comment.objects.get().body == "My study note @wes"


@pytest.mark.parametrize("method", ["get", "post"])
def test_invisible_video_and_stranger_are_404(as_user, viewer, stranger, uploader, video, method):
    unpublished = VideoFactory(uploader=uploader, duration=60, status="processed")
    for user, target in [(stranger, video), (viewer, unpublished)]:
        response = getattr(as_user(user), method)(url(target), {"body": "x"}, format="json")
        assert response.status_code == 404
    assert not Comment.objects.exists()


def test_the_owner_of_an_unpublished_video_discusses_it(as_user, uploader):
    draft = VideoFactory(uploader=uploader, duration=60, status="processed")
    assert as_user(uploader).post(url(draft), {"body": "Check 0:30", "at": 30}, format="json").status_code == 201


def test_mentions_notify_by_email_and_in_the_app(
    as_user, viewer, other_viewer, stranger, video, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(viewer).post(
            url(video), {"body": "@wes look here, @nobody too, @vera and @ghost", "at": 12}, format="json"
        )
    assert response.status_code == 201
    # wes may watch: notified; nobody (no role) may not; vera is the author; ghost does not exist.
    assert list(Notification.objects.values_list("user__username", "kind", "video_id", "actor__username")) == [
        ("wes", "mention", video.pk, "vera")
    ]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["wes@example.org"]
    assert "vera mentioned you" in message.subject
    assert f"/videos/{video.uuid}/?t=12" in message.body
    assert unread_count(other_viewer) == 1

    listed = as_user(other_viewer).get("/api/v1/notifications/").json()
    assert listed["unread"] == 1
    assert [(n["actor"], n["video"], n["at"], n["read"]) for n in listed["results"]] == [
        ("vera", str(video.uuid), 12.0, False)
    ]
    read = as_user(other_viewer).post("/api/v1/notifications/read/", {}, format="json")
    assert read.json() == {"read": 1, "unread": 0}
    assert unread_count(other_viewer) == 0
    assert as_user(viewer).get("/api/v1/notifications/").json() == {"unread": 0, "results": []}


def test_the_header_shows_the_unread_count_and_the_page_lists_them(client, viewer, other_viewer, video, as_user):
    as_user(viewer).post(url(video), {"body": "@wes see this", "at": 65}, format="json")
    client.force_login(other_viewer)
    page = client.get("/library/history/").content.decode()
    assert 'data-unread-count="1"' in page
    listing = client.get("/teaching/notifications/").content.decode()
    assert "vera" in listing and video.title in listing and f"/videos/{video.uuid}/?t=65" in listing
    assert client.post("/teaching/notifications/read/").status_code == 302
    assert 'data-unread-count="0"' in client.get("/library/history/").content.decode()


def test_comment_list_costs_a_constant_number_of_queries(
    as_user, viewer, other_viewer, video, django_assert_num_queries
):
    client = as_user(viewer)
    client.get(url(video))
    for count in (2, 12):
        Comment.objects.all().delete()
        for n in range(count):
            Comment.objects.create(video=video, author=other_viewer if n % 2 else viewer, body=f"c{n}", at=n)
        with django_assert_num_queries(2):  # the video, the comments with their authors
            assert len(client.get(url(video)).json()) == count


def test_deleting_a_comment_takes_its_mentions_off_the_unread_count(as_user, viewer, other_viewer, video):
    cid = as_user(viewer).post(url(video), {"body": "@wes look"}, format="json").json()["id"]
    assert unread_count(other_viewer) == 1
    assert as_user(viewer).delete(url(video, cid)).status_code == 204
    assert not Notification.objects.exists()
    assert unread_count(other_viewer) == 0


@pytest.mark.parametrize("payload", [None, [1, 2], "text", 5, True])
def test_a_body_that_is_not_an_object_is_a_400(as_user, viewer, video, payload):
    cid = Comment.objects.create(video=video, author=viewer, body="Mine").pk
    expected = {"detail": "Send a JSON object: {body, at, end, parent, private}."}
    raw = json.dumps(payload)  # `null` itself, not an empty body
    for response in (
        as_user(viewer).post(url(video), raw, content_type="application/json"),
        as_user(viewer).patch(url(video, cid), raw, content_type="application/json"),
    ):
        assert response.status_code == 400
        assert response.json() == expected
    assert list(Comment.objects.values_list("body", flat=True)) == ["Mine"]
