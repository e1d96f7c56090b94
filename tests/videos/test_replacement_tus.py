"""
Replacing a recording through a resumable (tus) upload (issue #15): ``replaces`` in the
Upload-Metadata makes the file the new recording of that video. Who may, and whether the
video may be replaced now, is asked when the upload is created and again when its last byte
lands; every refusal is a 400 naming ``replaces`` or a 403. The multipart door is in
test_replacement.py.
"""

import base64
import hashlib
import uuid
from urllib.parse import urlparse

import pytest

from accounts import roles
from audit.models import AuditEvent
from tests.factories import VideoFactory
from tests.videos_helpers import ready_video
from videos import services, storage
from videos.models import Upload, Video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
UPLOADS = "/api/v1/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
NOT_YOURS = {"detail": "Invalid input.", "replaces": ["There is no video with this id that you may see."]}


def meta(**values) -> str:
    return ",".join(f"{key} {base64.b64encode(str(value).encode()).decode()}" for key, value in values.items())


def create(api, data: bytes, **metadata):
    return api.post(
        UPLOADS, HTTP_UPLOAD_LENGTH=str(len(data)), HTTP_UPLOAD_METADATA=meta(filename="new.mp4", **metadata), **TUS
    )


def patch(api, url, chunk: bytes, offset: int):
    return api.generic(
        "PATCH", url, chunk, content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET=str(offset), **TUS
    )


@pytest.fixture
def rejected(api, uploader, approver, media, django_capture_on_commit_callbacks):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks, title="Wrong file")
    services.video_reject(user=approver, video=video, reason="This is not the actual recording.")
    api.force_authenticate(None)
    video.refresh_from_db()
    return video


def test_the_owner_replaces_the_recording_with_a_resumable_upload(
    api, uploader, rejected, media, django_capture_on_commit_callbacks
):
    data = media.other_mp4().read_bytes()  # 320×240, 1.5 s
    old_original = rejected.original_file
    api.force_authenticate(uploader)
    created = create(api, data, replaces=rejected.uuid)
    assert created.status_code == 201, created.content
    url = urlparse(created["Location"]).path
    assert patch(api, url, data[:40_000], 0).status_code == 204
    with django_capture_on_commit_callbacks() as queued:
        last = patch(api, url, data[40_000:], 40_000)
    assert last.status_code == 204, last.content
    assert (last["X-Video-Id"], last["X-Video-Duplicate"]) == (str(rejected.uuid), "false")
    assert Video.objects.count() == 1  # no new video
    video = Video.objects.get(pk=rejected.pk)
    assert video.md5 == hashlib.md5(data).hexdigest() != rejected.md5
    assert (video.size_bytes, video.original_name, video.width, video.height) == (len(data), "new.mp4", 320, 240)
    assert (video.title, video.status) == ("Wrong file", "rejected")
    # Queued, not yet run: a new job token, progress from 0, the job enqueued on commit.
    assert video.job_token is not None and video.job_token != rejected.job_token and video.progress == 0
    assert queued
    assert api.get(url, **TUS).json()["video"] == str(rejected.uuid)
    event = AuditEvent.objects.get(event="video_edit", detail__fields=["original"])
    assert event.actor == uploader and event.detail["previous"]["md5"] == rejected.md5

    # The commit: the old original goes, the job runs (synchronous in tests) and queues its chunks.
    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()
    video.refresh_from_db()
    assert not old_original.exists() and video.original_file.exists()
    assert list(video.renditions.values_list("name", flat=True)) == ["240p"]
    assert video.job_token is None and video.progress == 100


def test_an_editor_may_replace_anyones_recording(api, editor, rejected, media):
    api.force_authenticate(editor)
    assert create(api, media.other_mp4().read_bytes(), replaces=rejected.uuid).status_code == 201


def test_strangers_are_refused_when_the_upload_is_created(api, make_user, uploader, rejected, media, approver):
    data = media.other_mp4().read_bytes()
    otto = make_user(roles.VIEWER, roles.UPLOADER, username="otto")
    api.force_authenticate(otto)
    # Not theirs and not published: refused as if it did not exist.
    invisible = create(api, data, replaces=rejected.uuid)
    assert (invisible.status_code, invisible.json()) == (400, NOT_YOURS)
    unknown = create(api, data, replaces=uuid.uuid4())
    assert (unknown.status_code, unknown.json()) == (400, NOT_YOURS)
    # Published, so they see it, but it is not theirs to replace.
    published = VideoFactory(uploader=uploader, status="published", duration=2)
    seen = create(api, data, replaces=published.uuid)
    assert seen.status_code == 403
    assert seen.json() == {"detail": "Only the owner or an editor may replace the recording."}
    api.force_authenticate(make_user(roles.VIEWER, username="vic"))  # may not upload at all
    assert create(api, data, replaces=published.uuid).status_code == 403
    assert Upload.objects.count() == 0


@pytest.mark.parametrize("replaces", ["not-a-uuid", "", "8b0f3c1e-0000-4000-8000-000000000000"])
def test_an_unknown_or_malformed_id_is_a_400_naming_replaces(api, uploader, media, replaces):
    api.force_authenticate(uploader)
    response = create(api, media.other_mp4().read_bytes(), replaces=replaces)
    assert (response.status_code, response.json()) == (400, NOT_YOURS)
    assert Upload.objects.count() == 0


def test_a_video_still_processing_is_a_400_naming_replaces(api, uploader, media):
    video = VideoFactory(uploader=uploader, status="processing", duration=2)
    api.force_authenticate(uploader)
    response = create(api, media.other_mp4().read_bytes(), replaces=video.uuid)
    assert response.status_code == 400
    assert response.json()["replaces"] == ["The video is still being processed; replace it when that is done."]
    assert Upload.objects.count() == 0


def test_details_with_a_replacement_are_a_400_naming_replaces(api, uploader, rejected, media):
    api.force_authenticate(uploader)
    response = create(api, media.other_mp4().read_bytes(), replaces=rejected.uuid, title="New title")
    assert response.status_code == 400
    assert response.json()["replaces"] == ["A replacement keeps the video's details; edit them on the video (title)."]


def test_asked_again_when_the_last_byte_lands(api, uploader, rejected, media):
    """Between creation and completion the video went back into processing, then the owner lost the right."""
    data = media.other_mp4().read_bytes()
    api.force_authenticate(uploader)
    url = urlparse(create(api, data, replaces=rejected.uuid)["Location"]).path
    assert patch(api, url, data[:40_000], 0).status_code == 204
    Video.objects.filter(pk=rejected.pk).update(status=Video.Status.PROCESSING)
    busy = patch(api, url, data[40_000:], 40_000)
    assert busy.status_code == 400
    assert busy.json()["replaces"] == ["The video is still being processed; replace it when that is done."]
    assert Video.objects.get(pk=rejected.pk).md5 == rejected.md5
    assert Upload.objects.count() == 0 and list(storage.uploads_dir().glob("*.part")) == []

    Video.objects.filter(pk=rejected.pk).update(status=Video.Status.REJECTED)
    url = urlparse(create(api, data, replaces=rejected.uuid)["Location"]).path
    uploader.groups.remove(*uploader.groups.filter(name=roles.UPLOADER))
    refused = patch(api, url, data, 0)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only the owner or an editor may replace the recording."}
    assert Video.objects.get(pk=rejected.pk).md5 == rejected.md5


def test_an_upload_without_replaces_still_makes_a_new_video(api, uploader, rejected, media):
    data = media.other_mp4().read_bytes()
    api.force_authenticate(uploader)
    url = urlparse(create(api, data, title="A second case")["Location"]).path
    last = patch(api, url, data, 0)
    assert last.status_code == 204
    assert last["X-Video-Id"] != str(rejected.uuid)
    assert Video.objects.get(uuid=last["X-Video-Id"]).title == "A second case"
    assert Video.objects.get(pk=rejected.pk).md5 == rejected.md5
