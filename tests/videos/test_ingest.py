"""Uploading through the API: every bad input is a clear 400 that leaves nothing behind."""

import pytest

from accounts import roles
from audit.models import AuditEvent
from tests.videos_helpers import VIDEOS, media_files, upload
from videos.models import Upload, Video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_upload_creates_a_queued_video_and_strips_nothing_it_needs(uploader_api, media, uploader, settings):
    response = upload(uploader_api, media.mp4(), title="Lap chole", description="Teaching case")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["duplicate"] is False
    assert body["status"] == "pending"
    video = Video.objects.get(uuid=body["id"])
    assert video.uploader == uploader
    assert video.title == "Lap chole"
    assert (video.width, video.height) == (320, 180)
    assert video.duration == pytest.approx(2, abs=0.2)
    assert video.audio_codec == "aac"
    import hashlib

    assert video.md5 == hashlib.md5(media.mp4().read_bytes()).hexdigest()
    assert [p.name for p in media_files(settings)] == [f"{video.uuid}.mp4"]
    assert AuditEvent.objects.filter(event="video_upload", actor=uploader).exists()


@pytest.mark.parametrize(
    "sample,name,message",
    [
        ("empty", None, "empty"),
        ("text_as_mp4", None, "is not a MP4 video"),
        ("png_as_mov", None, "is not a MOV video"),
        ("truncated", None, "not a readable video"),
        ("audio_only", None, "no video stream"),
        ("playlist_as_mp4", None, "is not a MP4 video"),
        ("concat_as_mp4", None, "is not a MP4 video"),
        ("mp4", "clip.exe", "not accepted"),
        ("mp4", "clip", "not accepted"),
        ("mp4", "clip.mkv", "is not a MKV video"),
    ],
)
def test_bad_files_are_400_and_leave_nothing(uploader_api, media, settings, sample, name, message):
    response = upload(uploader_api, getattr(media, sample)(), name=name)
    assert response.status_code == 400, response.content
    assert message in str(response.json())
    assert Video.objects.count() == 0
    assert media_files(settings) == []


@pytest.mark.parametrize(
    "sample,message",
    [
        ("playlist_as_mp4", "Unsupported or indirect input (hls)"),
        # The concat demuxer refuses an absolute path as unsafe before we even look.
        ("concat_as_mp4", "not a readable video (file: Operation not permitted)"),
    ],
)
def test_indirect_inputs_are_refused_even_when_the_sniff_is_fooled(
    uploader_api, media, settings, monkeypatch, sample, message
):
    """Defence in depth: ffprobe's format check alone refuses playlists and concat lists."""
    from videos import ingest

    monkeypatch.setattr(ingest, "check_sniff", lambda head, extension: None)
    response = upload(uploader_api, getattr(media, sample)())
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert str(settings.MEDIA_ROOT) not in response.content.decode()
    assert Video.objects.count() == 0
    assert media_files(settings) == []
    assert media_files(settings) == []


def test_upload_over_the_size_cap_is_400(uploader_api, media, settings):
    settings.VIDEO_MAX_UPLOAD_BYTES = 50_000
    response = upload(uploader_api, media.mp4())
    assert response.status_code == 400
    assert "larger than" in str(response.json())
    assert media_files(settings) == []


def test_missing_file_and_bad_metadata_are_400(uploader_api, media):
    assert uploader_api.post(VIDEOS, {"title": "x"}, format="multipart").status_code == 400
    bad = upload(uploader_api, media.mp4(), date_of_surgery="yesterday")
    assert bad.status_code == 400
    assert "date_of_surgery" in bad.json()
    assert Video.objects.count() == 0


def test_unknown_tag_needs_an_editor(uploader_api, media, make_user, api):
    response = upload(uploader_api, media.mp4(), tags="Brand new tag")
    assert response.status_code == 400
    assert "tags" in response.json()
    editor = make_user(roles.VIEWER, roles.EDITOR, roles.UPLOADER, username="ed")
    api.force_authenticate(editor)
    ok = upload(api, media.mp4(), tags="Brand new tag, Laparoscopy")
    assert ok.status_code == 201
    assert sorted(ok.json()["tags"]) == ["Brand new tag", "Laparoscopy"]


def test_duplicate_returns_the_existing_video(uploader_api, media, settings):
    first = upload(uploader_api, media.mp4())
    second = upload(uploader_api, media.mp4())
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert second.json()["id"] == first.json()["id"]
    assert Video.objects.count() == 1
    assert len(media_files(settings)) == 1


def test_duplicate_of_a_video_the_caller_cannot_see_is_not_revealed(api, media, make_user, settings):
    alice = make_user(roles.VIEWER, roles.UPLOADER, username="alice")
    bob = make_user(roles.VIEWER, roles.UPLOADER, username="bob")
    api.force_authenticate(alice)
    original = upload(api, media.mp4()).json()["id"]
    api.force_authenticate(bob)
    response = upload(api, media.mp4())
    assert response.status_code == 400
    assert original not in response.content.decode()
    assert "identical recording" in response.json()["detail"]
    assert Video.objects.count() == 1


def test_viewer_cannot_upload(api, viewer, media, settings):
    api.force_authenticate(viewer)
    response = upload(api, media.mp4())
    assert response.status_code == 403
    assert media_files(settings) == []
    assert Upload.objects.count() == 0


def test_anonymous_cannot_upload(api, media):
    assert upload(api, media.mp4()).status_code == 401
