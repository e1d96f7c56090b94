"""
Choosing the poster (issue #15): the owner or an Editor takes it again from a moment of the
recording (real FFmpeg on the kept original); anyone else is refused, a bad time is a 400
naming ``at``, and an app above may refuse a moment (``register_poster_check``).
"""

import pytest

from audit.models import AuditEvent
from tests.factories import UserFactory
from tests.videos_helpers import ready_video
from videos.services import poster as poster_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(api, uploader, media, django_capture_on_commit_callbacks):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks, title="Poster case")
    video.refresh_from_db()
    assert video.status == "processed" and video.has_poster
    api.force_authenticate(None)
    return video


def url(video):
    return f"/api/v1/videos/{video.uuid}/poster/"


def test_the_owner_takes_the_poster_from_a_chosen_moment(api, uploader, case):
    poster = case.hls_dir / "poster.jpg"
    before = poster.read_bytes()
    api.force_authenticate(uploader)
    at = round(case.duration * 0.8, 1)  # the transcoder took it from 10 % in
    response = api.post(url(case), {"at": at}, format="json")
    assert response.status_code == 200, response.content
    after = poster.read_bytes()
    assert after[:2] == b"\xff\xd8" and after != before  # a new JPEG frame
    event = AuditEvent.objects.get(event="video_edit", actor=uploader)
    assert event.detail["fields"] == ["poster"] and event.detail["at"] == at
    assert not (case.hls_dir / "poster.choosing.jpg").exists()


def test_an_editor_may_others_may_not(api, editor, case, make_user):
    from accounts import roles

    api.force_authenticate(make_user(roles.VIEWER, roles.UPLOADER, username="otto"))
    assert api.post(url(case), {"at": 1}, format="json").status_code == 404  # not theirs, not published
    api.force_authenticate(editor)
    assert api.post(url(case), {"at": 1}, format="json").status_code == 200


@pytest.mark.parametrize("at", [-1, 10_000, "soon", None])
def test_a_bad_time_is_a_400_naming_at(api, uploader, case, at):
    before = (case.hls_dir / "poster.jpg").read_bytes()
    api.force_authenticate(uploader)
    response = api.post(url(case), {"at": at}, format="json")
    assert response.status_code == 400
    assert "at" in response.json()
    assert (case.hls_dir / "poster.jpg").read_bytes() == before


def test_an_app_above_may_refuse_a_moment(api, uploader, case):
    def flagged(video, at):
        return ["that moment is flagged by the privacy scan"] if at < 1 else []

    poster_service.register_poster_check(flagged)
    try:
        api.force_authenticate(uploader)
        response = api.post(url(case), {"at": 0.5}, format="json")
        assert response.status_code == 400
        assert response.json()["at"] == ["that moment is flagged by the privacy scan"]
        assert api.post(url(case), {"at": 1.5}, format="json").status_code == 200
    finally:
        poster_service._poster_checks.remove(flagged)


def test_a_viewer_cannot_choose_the_poster_of_a_published_case(api, approver, case):
    from accounts import roles
    from videos import services

    services.video_publish(user=approver, video=case)
    api.force_authenticate(UserFactory(username="vic", roles=[roles.VIEWER]))
    assert api.post(url(case), {"at": 1}, format="json").status_code == 403


def test_the_poster_comes_from_what_the_transcode_reads(api, uploader, case, tmp_path):
    """A redacted recording (privacy's source provider) is where a chosen poster comes from, never the original."""
    from PIL import Image

    from tests.media import ffmpeg
    from videos.services import transcode

    black = tmp_path / "redacted.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", f"color=black:size=320x180:rate=25:duration={case.duration}", "-c:v", "libx264", str(black)
    )

    def provider(video):
        return black if video.pk == case.pk else None

    transcode.register_source_provider(provider)
    try:
        api.force_authenticate(uploader)
        assert api.post(url(case), {"at": 1.0}, format="json").status_code == 200
    finally:
        transcode._source_providers.remove(provider)
    with Image.open(case.hls_dir / "poster.jpg") as image:
        assert max(image.convert("L").getextrema()) < 24  # black, not the test pattern of the original
