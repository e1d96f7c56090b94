import pytest
from django.core import mail

from tests.videos_helpers import ready_video
from videos import services


@pytest.fixture(autouse=True)
def _no_required_fields(settings):
    """The publish gate's metadata rule (issue #15) is not what these tests are about."""
    settings.PUBLISH_REQUIRED_FIELDS = []


@pytest.fixture
def published(api, uploader, approver, media, django_capture_on_commit_callbacks):
    """``media.mp4()`` uploaded by ``uploader``, transcoded by real FFmpeg and published (``api`` signed out again)."""
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks, title="Lap chole")
    services.video_publish(user=approver, video=video)
    mail.outbox.clear()
    api.force_authenticate(None)
    video.refresh_from_db()
    return video
