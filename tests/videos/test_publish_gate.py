"""
The publish gate (videos.services.review.register_publish_check): whatever an app registers
holds at every door that publishes — the API (409 naming the reasons), the review page, the
admin action, a resubmission and the end of a transcode when no approval is needed.
"""

import pytest
from django.contrib.admin.sites import site

from tests.factories import VideoFactory
from tests.signin import otp_client
from tests.videos_helpers import ready_video
from videos.models import Video
from videos.services import review

pytestmark = pytest.mark.django_db


@pytest.fixture
def blocked():
    """A check that blocks the videos titled 'Blocked', registered for one test."""

    def check(video):
        return ["the test says no"] if video.title == "Blocked" else []

    review.register_publish_check(check)
    yield check
    review._publish_checks.remove(check)


def test_api_publish_is_409_naming_the_reasons(api, approver, uploader, blocked):
    video = VideoFactory(uploader=uploader, title="Blocked", status="processed")
    api.force_authenticate(approver)
    response = api.post(f"/api/v1/videos/{video.uuid}/publish/")
    assert response.status_code == 409
    assert response.json()["detail"] == "This video cannot be published yet: the test says no"
    video.refresh_from_db()
    assert (video.status, video.published_at) == ("processed", None)
    other = VideoFactory(uploader=uploader, title="Fine", status="processed")
    assert api.post(f"/api/v1/videos/{other.uuid}/publish/").json()["status"] == "published"


def test_review_page_explains_and_keeps_the_status(client, approver, uploader, blocked):
    video = VideoFactory(uploader=uploader, title="Blocked", status="processed", duration=600)
    otp_client(approver, client)
    response = client.post(f"/videos/review/{video.uuid}/", {"action": "publish"}, follow=True)
    assert "This video cannot be published yet: the test says no" in response.content.decode()
    video.refresh_from_db()
    assert video.status == "processed"


def test_admin_action_is_refused(rf, approver, uploader, blocked):
    from django.contrib.messages.storage.fallback import FallbackStorage

    video = VideoFactory(uploader=uploader, title="Blocked", status="processed")
    request = rf.post("/admin/videos/video/")
    request.user = approver
    request.session = {}
    request._messages = FallbackStorage(request)
    site._registry[Video].publish(request, Video.objects.filter(pk=video.pk))
    assert [str(m) for m in request._messages] == [f"{video}: This video cannot be published yet: the test says no"]
    video.refresh_from_db()
    assert video.status == "processed"


def test_resubmission_without_approval_waits_for_an_approver(approver, uploader, settings, blocked):
    settings.VIDEOS_REQUIRE_APPROVAL = False
    video = VideoFactory(uploader=uploader, title="Blocked", status="processed", duration=600)
    review.video_reject(user=approver, video=video, reason="Title")
    video = review.video_resubmit(user=uploader, video=video)
    assert (video.status, video.published_at) == ("processed", None)


@pytest.mark.django_db(transaction=True)
def test_a_finished_transcode_without_approval_waits_too(
    api, uploader, media, settings, blocked, django_capture_on_commit_callbacks
):
    settings.VIDEOS_REQUIRE_APPROVAL = False
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks, title="Blocked")
    assert (video.status, video.published_at, video.failure_reason) == ("processed", None, "")
    fine = ready_video(api, uploader, media.other_mp4(), django_capture_on_commit_callbacks, title="Fine")
    assert fine.status == "published"
