"""
Replacing a rejected case's recording (issue #15): the owner sends a new file for the same
video; the id, details and review history stay, the old file's name/size/MD5 go into the
audit trail, the new file is transcoded by the real pipeline and its ladder replaces the old.
"""

import hashlib

import pytest

from audit.models import AuditEvent
from tests.videos_helpers import ready_video
from videos import services
from videos.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejected(api, uploader, approver, media, django_capture_on_commit_callbacks):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks, title="Wrong file")
    services.video_reject(user=approver, video=video, reason="This is not the actual recording.")
    api.force_authenticate(None)
    video.refresh_from_db()
    return video


def replace(api, video, path, capture=None):
    with open(path, "rb") as handle:
        if capture is None:
            return api.post(f"/api/v1/videos/{video.uuid}/replacement/", {"file": handle}, format="multipart")
        with capture(execute=True):
            return api.post(f"/api/v1/videos/{video.uuid}/replacement/", {"file": handle}, format="multipart")


def test_the_owner_replaces_the_recording_of_a_rejected_case(
    api, uploader, rejected, media, django_capture_on_commit_callbacks
):
    old = {"md5": rejected.md5, "size": rejected.size_bytes, "name": rejected.original_name}
    old_original = rejected.original_file
    assert old_original.exists() and (rejected.width, rejected.height) != (320, 240)
    new_path = media.other_mp4()  # 320×240, 1.5 s
    api.force_authenticate(uploader)
    response = replace(api, rejected, new_path, django_capture_on_commit_callbacks)
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(rejected.uuid)
    video = Video.objects.get(pk=rejected.pk)
    assert (video.md5, video.width, video.height) == (hashlib.md5(new_path.read_bytes()).hexdigest(), 320, 240)
    assert (video.title, video.status, video.review_note) == (
        "Wrong file",
        "rejected",
        "This is not the actual recording.",
    )
    assert video.original_file.exists() and not old_original.exists()
    # Re-processed: the ladder is the new file's (a 240 px rung), and the job is over.
    assert list(video.renditions.values_list("name", flat=True)) == ["240p"]
    assert video.job_token is None and video.progress == 100
    event = AuditEvent.objects.get(event="video_edit", detail__fields=["original"])
    assert event.actor == uploader and event.detail["previous"] == old
    # Then the usual way on: resubmit for review.
    assert api.post(f"/api/v1/videos/{video.uuid}/resubmit/").json()["status"] == "processed"


def test_others_cannot_replace_and_bad_files_are_refused(api, make_user, viewer, uploader, rejected, media, tmp_path):
    from accounts import roles

    api.force_authenticate(make_user(roles.VIEWER, roles.UPLOADER, username="otto"))
    assert replace(api, rejected, media.other_mp4()).status_code == 404  # not theirs, not published
    api.force_authenticate(uploader)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    response = replace(api, rejected, junk)
    assert response.status_code == 400, response.content
    same = replace(api, rejected, media.mp4())
    assert same.status_code == 400
    assert same.json()["file"] == ["This is the recording the video already has."]
    assert Video.objects.get(pk=rejected.pk).md5 == rejected.md5
