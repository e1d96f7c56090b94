"""Curation and governance: the review queue and page, notification e-mails, the edit page
with "Save and resubmit", and the resubmit API. Through HTTP, real database."""

import pytest
from django.core import mail

from accounts import roles
from audit.models import AuditEvent
from tests.factories import CategoryFactory, SurgeonFactory, TagFactory, VideoFactory, VideoSurgeonFactory
from tests.signin import otp_client
from videos import services
from videos.models import Video
from videos.services import review

pytestmark = pytest.mark.django_db

QUEUE = "/videos/review/"


def review_url(video):
    return f"/videos/review/{video.uuid}/"


def edit_url(video):
    return f"/videos/{video.uuid}/edit/"


# ------------------------------------------------------------------------------ queue


def test_queue_lists_videos_awaiting_review_oldest_first(client, approver, uploader):
    from datetime import timedelta

    from django.utils import timezone

    newer = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    older = VideoFactory(
        uploader=uploader,
        title="Case 2",
        status="processed",
        duration=600,
        created_at=timezone.now() - timedelta(days=2),
    )
    VideoFactory(uploader=uploader, title="Case 3", status="published", duration=600)
    VideoFactory(uploader=uploader, title="Case 4", status="rejected", duration=600)
    otp_client(approver, client)
    response = client.get(QUEUE)
    assert response.status_code == 200
    rows = [video.title for video, _poster in response.context["page_obj"].object_list]
    assert rows == [older.title, newer.title]
    body = response.content.decode()
    assert body.index("Case 2") < body.index("Case 1")
    assert "2 videos awaiting review" in body
    assert review_url(older) in body


@pytest.mark.parametrize("role_names", [[roles.VIEWER], [roles.VIEWER, roles.UPLOADER], [roles.VIEWER, roles.EDITOR]])
def test_queue_and_review_page_are_for_approvers_only(client, make_user, uploader, role_names):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    otp_client(make_user(*role_names, username="someone"), client)
    assert client.get(QUEUE).status_code == 403
    assert client.get(review_url(video)).status_code == 403
    assert client.post(review_url(video), {"action": "publish"}).status_code == 403
    video.refresh_from_db()
    assert video.status == "processed"


def test_queue_needs_sign_in(client):
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_queue_costs_the_same_number_of_queries_for_2_and_12_videos(
    client, approver, uploader, django_assert_num_queries
):
    category = CategoryFactory(name="General")
    tags = [TagFactory(name="Laparoscopy"), TagFactory(name="Gallbladder")]
    surgeons = [SurgeonFactory(name="Dr Rao"), SurgeonFactory(name="Dr Lee")]
    otp_client(approver, client)

    def fill(n):
        Video.objects.all().delete()
        for video in VideoFactory.create_batch(
            n, uploader=uploader, status="processed", duration=600, category=category, has_poster=True, tags=tags
        ):
            for surgeon in surgeons:
                VideoSurgeonFactory(video=video, surgeon=surgeon, role="assistant")

    fill(2)
    client.get(QUEUE)  # warm the session and the per-request role cache
    # session, user, roles, 2FA + count, page, tags, surgeons, cases being processed
    with django_assert_num_queries(12):
        response = client.get(QUEUE)
    assert len(response.context["page_obj"].object_list) == 2
    fill(12)
    with django_assert_num_queries(12):
        response = client.get(QUEUE)
    assert len(response.context["page_obj"].object_list) == 12
    assert response.content.decode().count("/media/poster.jpg?token=") == 12


def test_queue_is_paginated(client, approver, uploader):
    for i in range(25):
        VideoFactory(uploader=uploader, title=f"Case {i}", status="processed", duration=600)
    otp_client(approver, client)
    first = client.get(QUEUE)
    assert len(first.context["page_obj"].object_list) == 20
    second = client.get(QUEUE + "?page=2")
    assert len(second.context["page_obj"].object_list) == 5
    assert "Page 2 of 2" in second.content.decode()


# ------------------------------------------------------------------------------ decisions


def test_review_page_shows_the_player_and_every_detail(client, approver, uploader):
    category = CategoryFactory(name="Hepatobiliary")
    video = VideoFactory(
        uploader=uploader,
        title="Case 1",
        status="processed",
        duration=600,
        category=category,
        description="Critical view of safety",
        transcript="Now we clip the duct",
    )
    video.tags.set([TagFactory(name="Laparoscopy")])
    VideoSurgeonFactory(video=video, surgeon=SurgeonFactory(name="Dr Rao", specialty="HPB"))
    otp_client(approver, client)
    response = client.get(review_url(video))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-master-url="/api/v1/videos/{video.uuid}/hls/master.m3u8"' in body
    assert "js/player.js" in body and "vendor/media-player.js" in body
    for text in [
        "Hepatobiliary",
        "Laparoscopy",
        "Dr Rao",
        "Primary surgeon",
        "Critical view of safety",
        "Now we clip the duct",
        'value="publish"',
        'value="reject"',
        'value="archive"',
    ]:
        assert text in body, text


def test_publish_from_the_review_page_emails_the_uploader_and_moves_on(
    client, approver, uploader, django_capture_on_commit_callbacks, mailoutbox
):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    following = VideoFactory(uploader=uploader, title="Case 2", status="processed", duration=600)
    otp_client(approver, client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(review_url(video), {"action": "publish"})
    assert response.status_code == 302
    assert response["Location"] == review_url(following)
    video.refresh_from_db()
    assert video.status == "published"
    assert video.published_at is not None
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [uploader.email]
    assert message.from_email == "Surgical Video Library <no-reply@localhost>"
    assert "“Case 1” is published" in message.subject
    assert f"http://127.0.0.1:8000/videos/{video.uuid}/" in message.body
    assert "Ann Approver" in message.body
    assert AuditEvent.objects.filter(event="video_publish", detail__video=str(video.uuid)).count() == 1


def test_the_last_decision_goes_back_to_the_queue(client, approver, uploader):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    otp_client(approver, client)
    response = client.post(review_url(video), {"action": "archive"})
    assert response.status_code == 302
    assert response["Location"] == QUEUE
    video.refresh_from_db()
    assert video.status == "archived"


@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_without_a_reason_is_a_form_error_and_changes_nothing(
    client, approver, uploader, reason, django_capture_on_commit_callbacks, mailoutbox
):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    otp_client(approver, client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(review_url(video), {"action": "reject", "reason": reason})
    assert response.status_code == 200
    assert response.context["reject_form"].errors == {
        "reason": ["Say why the video is rejected; the uploader will see it."]
    }
    assert "Say why the video is rejected" in response.content.decode()
    video.refresh_from_db()
    assert video.status == "processed"
    assert video.review_note == ""
    assert mailoutbox == []
    assert not AuditEvent.objects.filter(event="video_reject").exists()


def test_reject_with_a_reason_emails_it_and_my_uploads_shows_it(
    client, approver, uploader, django_capture_on_commit_callbacks, mailoutbox
):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    otp_client(approver, client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(review_url(video), {"action": "reject", "reason": "Patient's face visible at 12:30"})
    assert response.status_code == 302
    assert response["Location"] == QUEUE
    video.refresh_from_db()
    assert video.status == "rejected"
    assert video.review_note == "Patient's face visible at 12:30"
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [uploader.email]
    assert "was not approved" in message.subject
    assert "Patient's face visible at 12:30" in message.body
    assert f"http://127.0.0.1:8000/videos/{video.uuid}/edit/" in message.body

    otp_client(uploader, client)
    mine = client.get("/videos/mine/").content.decode()
    assert "Patient&#x27;s face visible at 12:30" in mine
    assert f'href="/videos/{video.uuid}/edit/"' in mine
    assert "Edit and resubmit" in mine


def test_a_decision_on_a_video_already_decided_is_refused(client, approver, uploader):
    video = VideoFactory(uploader=uploader, title="Case 1", status="failed", duration=600)
    otp_client(approver, client)
    response = client.post(review_url(video), {"action": "publish"}, follow=True)
    assert "cannot be published" in response.content.decode()
    video.refresh_from_db()
    assert video.status == "failed"
    assert client.post(review_url(video), {"action": "delete"}).status_code == 400


def test_no_email_when_the_approver_reviews_their_own_upload(
    client, approver, django_capture_on_commit_callbacks, mailoutbox
):
    video = VideoFactory(uploader=approver, title="Case 1", status="processed", duration=600)
    otp_client(approver, client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(review_url(video), {"action": "publish"})
    video.refresh_from_db()
    assert video.status == "published"
    assert mailoutbox == []


def test_a_mail_failure_is_logged_and_the_decision_stands(
    client, approver, uploader, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def broken(**kwargs):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr(review, "send_mail", broken)
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    otp_client(approver, client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(review_url(video), {"action": "reject", "reason": "Wrong patient"})
    assert response.status_code == 302
    video.refresh_from_db()
    assert video.status == "rejected"
    assert "review notice not sent" in caplog.text


def test_api_decisions_email_too(api, approver, uploader, django_capture_on_commit_callbacks, mailoutbox):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    api.force_authenticate(approver)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/videos/{video.uuid}/reject/", {"reason": "Blurred"}, format="json")
    assert response.status_code == 200
    assert [m.subject for m in mailoutbox] == ["Surgical Video Library: “Case 1” was not approved"]
    assert "Blurred" in mailoutbox[0].body


# ------------------------------------------------------------------------------ edit and resubmit


def test_owner_edits_and_resubmits_a_rejected_video(
    client, approver, uploader, django_capture_on_commit_callbacks, mailoutbox
):
    TagFactory(name="Laparoscopy")
    CategoryFactory(name="General")
    rao = SurgeonFactory(name="Dr Rao")
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    services.video_reject(user=approver, video=video, reason="Add the surgeon and a better title")
    otp_client(uploader, client)

    page = client.get(edit_url(video))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Add the surgeon and a better title" in body
    assert "Save and resubmit for review" in body

    data = {
        "title": "Laparoscopic cholecystectomy",
        "description": "Line one\r\nLine two",
        "transcript": "",
        "category": "General",
        "date_of_surgery": "2026-01-14",
        "tags": "laparoscopy",
        "surgeons-TOTAL_FORMS": "2",
        "surgeons-INITIAL_FORMS": "0",
        "surgeons-0-surgeon": str(rao.pk),
        "surgeons-0-role": "assistant",
        "surgeons-1-surgeon": "",
        "surgeons-1-role": "primary",
        "action": "resubmit",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(edit_url(video), data)
    assert response.status_code == 302, (
        response.context["form"].errors,
        response.context["surgeons"].errors,
        response.context["surgeons"].non_form_errors(),
    )
    assert response["Location"] == "/videos/mine/"
    video.refresh_from_db()
    assert video.status == "processed"
    assert video.review_note == ""
    assert video.title == "Laparoscopic cholecystectomy"
    assert video.description == "Line one\nLine two"
    assert video.category.name == "General"
    assert [t.name for t in video.tags.all()] == ["Laparoscopy"]
    assert [(r.surgeon_id, r.role) for r in video.video_surgeons.all()] == [(rao.pk, "assistant")]
    event = AuditEvent.objects.get(event="video_resubmit")
    assert event.actor == uploader
    assert event.detail["previous_note"] == "Add the surgeon and a better title"
    edit = AuditEvent.objects.get(event="video_edit")
    assert edit.detail["fields"] == ["category", "date_of_surgery", "description", "surgeons", "tags", "title"]
    assert mailoutbox == []  # approvers see it in the queue; no e-mail for a resubmission

    otp_client(approver, client)
    queue = client.get(QUEUE)
    assert [v.pk for v, _poster in queue.context["page_obj"].object_list] == [video.pk]
    history = client.get(review_url(video)).content.decode()
    assert "Video resubmitted for review" in history
    assert "Add the surgeon and a better title" in history  # the earlier reason, from the audit trail


def test_save_without_resubmit_keeps_the_video_rejected(client, approver, uploader):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600, publishable=False)
    services.video_reject(user=approver, video=video, reason="Title")
    otp_client(uploader, client)
    response = client.post(
        edit_url(video),
        {"title": "Better", "surgeons-TOTAL_FORMS": "0", "surgeons-INITIAL_FORMS": "0", "action": "save"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/videos/{video.uuid}/"
    video.refresh_from_db()
    assert (video.status, video.title, video.review_note) == ("rejected", "Better", "Title")
    assert AuditEvent.objects.get(event="video_edit").detail["fields"] == ["title"]


def test_resubmit_publishes_at_once_without_approval(client, approver, uploader, settings):
    settings.VIDEOS_REQUIRE_APPROVAL = False
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    services.video_reject(user=approver, video=video, reason="Title")
    otp_client(uploader, client)
    response = client.post(
        edit_url(video),
        {
            "title": "Case 1",
            "category": "General surgery",
            "date_of_surgery": "2026-11-02",
            "surgeons-TOTAL_FORMS": "1",
            "surgeons-INITIAL_FORMS": "1",
            "surgeons-0-surgeon": str(video.video_surgeons.get().surgeon_id),
            "surgeons-0-role": "primary",
            "action": "resubmit",
        },
    )
    assert response.status_code == 302
    video.refresh_from_db()
    assert video.status == "published"
    assert video.published_at is not None


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"title": ""}, "title", "A title is required."),
        ({"date_of_surgery": "2999-01-01"}, "date_of_surgery", "The date of surgery cannot be in the future."),
        ({"tags": "Brand new tag"}, "tags", "Unknown tag(s): Brand new tag. Ask an editor to add them."),
        ({"category": "Unknown"}, "category", "Select a valid choice. Unknown is not one of the available choices."),
    ],
)
def test_edit_errors_are_form_errors_and_change_nothing(client, uploader, changes, field, message):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    otp_client(uploader, client)
    data = {"title": "Changed", "surgeons-TOTAL_FORMS": "0", "surgeons-INITIAL_FORMS": "0", "action": "save"}
    response = client.post(edit_url(video), {**data, **changes})
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    video.refresh_from_db()
    assert video.title == "Case 1"
    assert not AuditEvent.objects.filter(event="video_edit").exists()


def test_unknown_surgeon_is_a_form_error(client, uploader):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600, publishable=False)
    otp_client(uploader, client)
    response = client.post(
        edit_url(video),
        {
            "title": "Case 1",
            "surgeons-TOTAL_FORMS": "1",
            "surgeons-INITIAL_FORMS": "0",
            "surgeons-0-surgeon": "999",
            "surgeons-0-role": "primary",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not video.video_surgeons.exists()


def test_editor_may_create_tags_and_categories_from_the_edit_page(client, editor, uploader):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    otp_client(editor, client)
    page = client.get(edit_url(video)).content.decode()
    assert 'list="category-options"' in page
    response = client.post(
        edit_url(video),
        {
            "title": "Case 1",
            "category": "Paediatrics",
            "tags": "Robotic, robotic, Teaching",
            "surgeons-TOTAL_FORMS": "0",
            "surgeons-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    video.refresh_from_db()
    assert video.category.name == "Paediatrics"
    assert sorted(t.name for t in video.tags.all()) == ["Robotic", "Teaching"]


def test_who_may_open_the_edit_page(client, make_user, uploader, viewer, editor):
    published = VideoFactory(uploader=uploader, title="Case 1", status="published", duration=600)
    private = VideoFactory(uploader=uploader, title="Case 2", status="rejected", duration=600)
    other = make_user(roles.VIEWER, roles.UPLOADER, username="otto")

    otp_client(other, client)
    assert client.get(edit_url(published)).status_code == 403  # sees it, may not edit it
    assert client.get(edit_url(private)).status_code == 404  # may not even see it
    assert client.post(edit_url(private), {"title": "Mine now", "action": "resubmit"}).status_code == 404
    otp_client(viewer, client)
    assert client.get(edit_url(published)).status_code == 403
    otp_client(editor, client)
    assert client.get(edit_url(private)).status_code == 200
    otp_client(uploader, client)
    assert client.get(edit_url(private)).status_code == 200
    private.refresh_from_db()
    assert (private.title, private.status) == ("Case 2", "rejected")


def test_resubmit_is_only_for_rejected_videos(client, uploader):
    video = VideoFactory(uploader=uploader, title="Case 1", status="published", duration=600)
    otp_client(uploader, client)
    page = client.get(edit_url(video)).content.decode()
    assert "Save and resubmit for review" not in page
    response = client.post(
        edit_url(video),
        {"title": "Case 1", "surgeons-TOTAL_FORMS": "0", "surgeons-INITIAL_FORMS": "0", "action": "resubmit"},
    )
    assert response.status_code == 200
    assert "Only rejected videos can be resubmitted; this one is published." in response.content.decode()
    video.refresh_from_db()
    assert video.status == "published"


def test_edit_page_query_count_does_not_grow_with_tags_and_surgeons(client, uploader, django_assert_num_queries):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600, publishable=False)
    otp_client(uploader, client)
    client.get(edit_url(video))
    with django_assert_num_queries(13):
        assert client.get(edit_url(video)).status_code == 200
    video.tags.set([TagFactory(name=f"Tag {i}") for i in range(6)])
    for i in range(6):
        VideoSurgeonFactory(video=video, surgeon=SurgeonFactory(name=f"Dr {i}"), role="assistant")
    with django_assert_num_queries(13):
        response = client.get(edit_url(video))
    assert response.content.decode().count("data-surgeon-row") == 8  # six, and two blank rows


# ------------------------------------------------------------------------------ API resubmit


def test_api_resubmit_follows_the_same_rules(api, approver, uploader, make_user, editor):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    services.video_reject(user=approver, video=video, reason="Blurred")
    url = f"/api/v1/videos/{video.uuid}/resubmit/"

    api.force_authenticate(make_user(roles.VIEWER, roles.UPLOADER, username="otto"))
    assert api.post(url).status_code == 404  # not theirs and not published: invisible
    api.force_authenticate(make_user(roles.VIEWER, username="vic"))
    assert api.post(url).status_code == 404

    api.force_authenticate(uploader)
    response = api.post(url)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "processed"
    assert response.json()["review_note"] == ""
    assert AuditEvent.objects.filter(event="video_resubmit", actor=uploader).count() == 1

    again = api.post(url)
    assert again.status_code == 400
    assert again.json()["detail"] == "Only rejected videos can be resubmitted; this one is awaiting review."

    services.video_reject(user=approver, video=video, reason="Still blurred")
    api.force_authenticate(editor)
    assert api.post(url).json()["status"] == "processed"

    published = VideoFactory(uploader=uploader, title="Case 2", status="published", duration=600, publishable=True)
    services.video_reject(user=approver, video=published, reason="Wrong category")
    services.video_publish(user=approver, video=published)
    api.force_authenticate(make_user(roles.VIEWER, roles.UPLOADER, username="olga"))
    assert api.post(f"/api/v1/videos/{published.uuid}/resubmit/").status_code == 403  # visible, not editable


def test_service_refuses_a_resubmit_by_someone_who_cannot_edit(approver, uploader, viewer):
    video = VideoFactory(uploader=uploader, title="Case 1", status="processed", duration=600)
    services.video_reject(user=approver, video=video, reason="Blurred")
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.video_resubmit(user=viewer, video=video)
    video.refresh_from_db()
    assert video.status == "rejected"
    assert len(mail.outbox) == 0
