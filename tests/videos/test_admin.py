"""Video admin: list with posters, actions through the services, and commands."""

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from tests.videos_helpers import ready_video
from videos.models import Video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_admin_list_and_publish_action(
    staff_client, api, uploader, media, django_capture_on_commit_callbacks, admin_user, django_assert_num_queries
):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    with django_assert_num_queries(17):
        page = staff_client.get("/admin/videos/video/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/api/v1/videos/{video.uuid}/media/poster.jpg?token=" in html
    response = staff_client.post("/admin/videos/video/", {"action": "publish", "_selected_action": [video.pk]})
    assert response.status_code == 302
    video.refresh_from_db()
    assert video.status == "published"
    assert AuditEvent.objects.filter(event="video_publish", actor=admin_user).exists()


def test_admin_edit_goes_through_the_service(staff_client, api, uploader, media, django_capture_on_commit_callbacks):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    response = staff_client.post(
        f"/admin/videos/video/{video.pk}/change/",
        {
            "title": "Renamed in admin",
            "description": "",
            "transcript": "",
            "category": "",
            "date_of_surgery": "",
            "review_note": "",
            "video_surgeons-TOTAL_FORMS": "0",
            "video_surgeons-INITIAL_FORMS": "0",
            "renditions-TOTAL_FORMS": "1",
            "renditions-INITIAL_FORMS": "1",
            "renditions-0-id": str(video.renditions.get().pk),
            "renditions-0-video": str(video.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    video.refresh_from_db()
    assert video.title == "Renamed in admin"
    assert AuditEvent.objects.filter(event="video_edit").exists()


def test_reprocess_command(api, uploader, media, django_capture_on_commit_callbacks, settings, admin_user, capsys):
    settings.TRANSCODE_PRESET = "no-such-preset"
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    assert video.status == "failed"
    settings.TRANSCODE_PRESET = "superfast"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reprocess_videos", "--failed")
    assert "Queued 1 video(s)." in capsys.readouterr().out
    video.refresh_from_db()
    assert video.status == "processed"


def test_editor_sees_videos_but_cannot_publish(
    client, api, uploader, media, django_capture_on_commit_callbacks, editor
):
    from tests.signin import otp_client

    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    otp_client(editor, client)
    assert client.get("/admin/videos/video/").status_code == 200
    client.post("/admin/videos/video/", {"action": "publish", "_selected_action": [video.pk]})
    video.refresh_from_db()
    assert video.status == "processed"
    assert Video.objects.count() == 1


def test_reject_archive_and_reprocess_actions(staff_client, api, uploader, media, django_capture_on_commit_callbacks):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    staff_client.post(
        "/admin/videos/video/",
        {"action": "reject", "_selected_action": [video.pk], "post": "yes", "reason": "Audio missing."},
    )
    video.refresh_from_db()
    assert (video.status, video.review_note) == ("rejected", "Audio missing.")
    staff_client.post("/admin/videos/video/", {"action": "archive", "_selected_action": [video.pk]})
    video.refresh_from_db()
    assert video.status == "archived"
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post("/admin/videos/video/", {"action": "reprocess", "_selected_action": [video.pk]})
    assert AuditEvent.objects.filter(event="video_reprocess").exists()
    video.refresh_from_db()
    assert video.status == "archived" and video.job_token is None and video.progress == 100
