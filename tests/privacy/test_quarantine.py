"""
Quarantine (issue #17): a video whose scan is pending, or has undecided ranges, or decisions
not applied yet, cannot be published through any door (API 409 naming the ranges, review page,
admin action, resubmission, the end of a transcode); a clean scan publishes a video itself when
no approval is needed, with no one named as the actor.
"""

import pytest
from django.contrib.admin.sites import site

from audit.models import AuditEvent
from privacy.models import PrivacyScan
from tests.factories import VideoFactory
from tests.media import ffmpeg
from tests.signin import otp_client
from tests.videos_helpers import ready_video
from videos.models import Video
from videos.services import review

pytestmark = pytest.mark.django_db

BLOCKED = "This video cannot be published yet: undecided privacy ranges 0:00:10–0:00:20, 0:01:05–0:01:10"


@pytest.fixture(autouse=True)
def _no_other_rules(settings):
    settings.PUBLISH_REQUIRED_FIELDS = []


def test_api_publish_is_409_naming_the_ranges(api, approver, flagged):
    video = flagged()
    api.force_authenticate(approver)
    response = api.post(f"/api/v1/videos/{video.uuid}/publish/")
    assert (response.status_code, response.json()["detail"]) == (409, BLOCKED)
    video.refresh_from_db()
    assert (video.status, video.published_at) == ("processed", None)


def test_review_page_explains(client, approver, flagged):
    video = flagged(duration=600)
    otp_client(approver, client)
    response = client.post(f"/videos/review/{video.uuid}/", {"action": "publish"}, follow=True)
    assert BLOCKED in response.content.decode()
    video.refresh_from_db()
    assert video.status == "processed"


def test_admin_action_is_refused(rf, approver, flagged):
    from django.contrib.messages.storage.fallback import FallbackStorage

    video = flagged()
    request = rf.post("/admin/videos/video/")
    request.user, request.session = approver, {}
    request._messages = FallbackStorage(request)
    site._registry[Video].publish(request, Video.objects.filter(pk=video.pk))
    assert [str(m) for m in request._messages] == [f"{video}: {BLOCKED}"]
    video.refresh_from_db()
    assert video.status == "processed"


def test_resubmission_without_approval_waits(approver, flagged, settings):
    settings.VIDEOS_REQUIRE_APPROVAL = False
    video = flagged(duration=600)
    review.video_reject(user=approver, video=video, reason="Title")
    video = review.video_resubmit(user=video.uploader, video=video)
    assert (video.status, video.published_at) == ("processed", None)


def test_decisions_not_applied_and_a_pending_scan_block_too(api, approver, flagged, settings):
    video = flagged()
    scan = video.privacy_scan
    scan.ranges.update(decision="blur")
    api.force_authenticate(approver)
    response = api.post(f"/api/v1/videos/{video.uuid}/publish/")
    assert response.json()["detail"] == (
        "This video cannot be published yet: the privacy decisions have not been applied yet"
    )
    PrivacyScan.objects.filter(pk=scan.pk).update(status="pending")
    assert review.publish_blockers(video) == ["the privacy scan is not finished"]
    PrivacyScan.objects.filter(pk=scan.pk).update(status="resolved")
    assert review.publish_blockers(video) == []
    unscanned = VideoFactory(status="processed")
    assert review.publish_blockers(unscanned) == []  # PRIVACY_SCAN off: nothing to wait for
    settings.PRIVACY_SCAN = True
    assert review.publish_blockers(unscanned) == ["the privacy scan has not run yet"]


def test_kept_ranges_with_reasons_publish(api, approver, flagged):
    video = flagged()
    video.privacy_scan.ranges.update(decision="keep", reason="No one identifiable")
    api.force_authenticate(approver)
    assert api.post(f"/api/v1/videos/{video.uuid}/publish/").json()["status"] == "published"


@pytest.mark.django_db(transaction=True)
def test_a_flagged_case_waits_and_a_clean_one_publishes_itself_without_approval(
    api, uploader, face_case, scanning, settings, django_capture_on_commit_callbacks, tmp_path
):
    settings.VIDEOS_REQUIRE_APPROVAL = False
    flagged = ready_video(api, uploader, face_case, django_capture_on_commit_callbacks, title="Faces")
    assert (flagged.status, flagged.published_at) == ("processed", None)

    tissue = tmp_path / "tissue.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=0xB23A2E:s=640x360:r=25:d=8,noise=alls=10:allf=t+u,vignette=angle=PI/3",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(tissue),
    )  # fmt: skip
    clean = ready_video(api, uploader, tissue, django_capture_on_commit_callbacks, title="Tissue")
    assert PrivacyScan.objects.get(video=clean).status == "clean"
    assert clean.status == "published" and clean.published_at is not None
    event = AuditEvent.objects.get(event="video_publish", detail__video=str(clean.uuid))
    # No one decided (in production the job has no request, so no actor either; here the
    # synchronous queue runs it inside the upload's request).
    assert (event.detail["automatic"], event.detail["note"]) == (
        True,
        "Published automatically: the privacy scan found nothing.",
    )
