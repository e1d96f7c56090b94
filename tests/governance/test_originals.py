"""
Originals (issue #17): KEEP_ORIGINALS_DAYS deletes the uploaded original N days after
publishing (never under legal hold; audited) while the ladder keeps playing and reprocessing
says why it cannot; only an Admin downloads an original, with a reason, audited; and no
delivery door reaches MEDIA_ROOT/originals, whatever the path.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from governance import services
from tests.factories import LadderVideoFactory, VideoFactory
from tests.videos.test_access_revocation import ALL_OK, handed_out, statuses
from videos.models import Video

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def published_ago(video, days):
    Video.objects.filter(pk=video.pk).update(published_at=timezone.now() - days * DAY)
    video.refresh_from_db()
    return video


# ------------------------------------------------------------------------------ the daily purge


def test_by_default_originals_are_kept_for_ever(settings, django_capture_on_commit_callbacks):
    settings.KEEP_ORIGINALS_DAYS = None
    video = published_ago(LadderVideoFactory(), 5000)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.originals_purge() == 0
    assert video.original_file.is_file()


def test_the_purge_keeps_recent_held_and_busy_originals(settings, approver, django_capture_on_commit_callbacks):
    settings.KEEP_ORIGINALS_DAYS = 30
    due = published_ago(LadderVideoFactory(), 31)
    recent = published_ago(LadderVideoFactory(), 29)
    held = published_ago(LadderVideoFactory(), 400)
    services.legal_hold_set(user=approver, video=held, reason="Claim 12")
    busy = published_ago(LadderVideoFactory(), 400)
    Video.objects.filter(pk=busy.pk).update(job_token="6f1c1e3e-8a2b-4a7e-9a55-2f4a1c0de001")
    never = LadderVideoFactory(status="processed")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.originals_purge() == 1
    assert not due.original_file.exists()
    due.refresh_from_db()
    assert due.original_path == ""
    for video in (recent, held, busy, never):
        assert video.original_file.is_file(), video
    event = AuditEvent.objects.get(detail__governance="original_deleted")
    assert (event.actor, event.detail["video"], event.detail["days"]) == (None, str(due.uuid), 30)


@pytest.mark.slow
def test_the_ladder_keeps_playing_and_reprocessing_says_why_not(
    client, api, published, viewer, editor, settings, django_capture_on_commit_callbacks
):
    settings.KEEP_ORIGINALS_DAYS = 7
    original = published.original_file
    published_ago(published, 8)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.originals_purge() == 1
    assert not original.exists()
    assert statuses(client, handed_out(client, viewer, published)) == ALL_OK
    api.force_authenticate(editor)
    response = api.post(f"/api/v1/videos/{published.uuid}/reprocess/")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The uploaded original of this video has been deleted (originals retention), so it cannot be "
        "reprocessed; the published ladder keeps playing."
    )


# ------------------------------------------------------------------------------ the download door


def original_url(video, reason=None):
    return f"/api/v1/videos/{video.uuid}/original/" + (f"?reason={reason}" if reason is not None else "")


def test_an_admin_downloads_the_original_with_a_reason(api, admin_user):
    video = LadderVideoFactory(original_name="case 12.mp4")
    api.force_authenticate(admin_user)
    response = api.get(original_url(video, "Court order 2026-114"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"ORIGINAL-" + video.uuid.bytes
    assert response["Content-Disposition"] == 'attachment; filename="case 12.mp4"'
    assert response["Content-Type"] == "application/octet-stream"  # as documented (make fuzz: ST105)
    assert response["Cache-Control"] == "private, no-store"
    event = AuditEvent.objects.get(detail__governance="original_downloaded")
    assert (event.actor, event.detail["reason"], event.detail["video"]) == (
        admin_user,
        "Court order 2026-114",
        str(video.uuid),
    )


def test_no_reason_no_original(api, admin_user):
    video = LadderVideoFactory()
    api.force_authenticate(admin_user)
    for url in (original_url(video), original_url(video, "")):
        response = api.get(url)
        assert (response.status_code, list(response.json())) == (400, ["detail", "reason"])
    assert not AuditEvent.objects.filter(detail__governance="original_downloaded").exists()


def test_everyone_else_is_refused(api, viewer, uploader, editor, approver):
    video = LadderVideoFactory(uploader=uploader)
    for user in (viewer, uploader, editor, approver):  # the owner included
        api.force_authenticate(user)
        assert api.get(original_url(video, "curious")).status_code == 403, user
    hidden = LadderVideoFactory(uploader=uploader, status="processed")
    api.force_authenticate(viewer)
    assert api.get(original_url(hidden, "curious")).status_code == 404
    api.force_authenticate(None)
    assert api.get(original_url(video, "curious")).status_code in (401, 403)
    assert not AuditEvent.objects.filter(detail__governance="original_downloaded").exists()


def test_a_deleted_original_is_404(api, admin_user):
    video = VideoFactory(original_path="")
    api.force_authenticate(admin_user)
    response = api.get(original_url(video, "audit"))
    assert (response.status_code, response.json()["detail"]) == (404, "This video has no uploaded original any more.")


# ------------------------------------------------------------------------------ no other door


@pytest.mark.parametrize(
    "trick",
    [
        "/api/v1/videos/{uuid}/hls/..%2F..%2Foriginals/{name}",
        "/api/v1/videos/{uuid}/hls/360p/..%2F..%2F..%2Foriginals%2F{name}",
        "/api/v1/videos/{uuid}/hls/360p/%2E%2E%2F%2E%2E%2F%2E%2E%2Foriginals%2F{name}",
        "/api/v1/videos/{uuid}/hls/..%252F..%252Foriginals/{name}",
        "/api/v1/videos/{uuid}/media/..%2F..%2Foriginals%2F{name}",
        "/api/v1/videos/{uuid}/media/%2E%2E%2F%2E%2E%2Foriginals%2F{name}",
        "/api/v1/videos/{uuid}/media/....%2F%2F....%2F%2Foriginals%2F{name}",
        "/api/v1/videos/{uuid}/hls/..\\..\\originals\\{name}",
        "/media-is-never-served-directly/originals/{name}",
        "/originals/{name}",
        "/protected-media/originals/{name}",
        "/static/../media/originals/{name}",
    ],
)
def test_no_delivery_path_reaches_an_original(client, viewer, trick):
    video = LadderVideoFactory()
    # With a valid signed token in hand, so only the path stands between the caller and the file.
    token = handed_out(client, viewer, video)["segment"].split("?", 1)[1]
    url = trick.format(uuid=video.uuid, name=video.original_file.name) + "?" + token
    client.force_login(viewer)
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code in (400, 401, 403, 404), (url, response.status_code)
    assert b"ORIGINAL-" not in body
    assert "X-Accel-Redirect" not in response
