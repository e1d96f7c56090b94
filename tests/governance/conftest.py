import pytest
from django.core import mail

from tests.videos_helpers import ready_video
from videos import services


@pytest.fixture
def published(api, uploader, approver, media, django_capture_on_commit_callbacks):
    """``media.mp4()`` uploaded by ``uploader``, transcoded by real FFmpeg and published (``api`` signed out again)."""
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks, title="Lap chole")
    services.video_publish(user=approver, video=video)
    mail.outbox.clear()
    api.force_authenticate(None)
    video.refresh_from_db()
    return video
