"""
The edit page's poster section and "Replace recording" (issue #15). The poster form (a
storyboard frame as a radio, or a typed time) posts to the edit page with action=poster and
goes through ``poster.video_poster_set``: real FFmpeg on a real transcoded clip, privacy's real
flagged range refusing a moment, and the form showing what the service says.
"""

import html
import re

import pytest
from django import forms

from accounts import roles
from audit.models import AuditEvent
from core.forms import ClockField
from privacy.models import PrivacyRange, PrivacyScan
from tests.media import clip
from tests.signin import otp_client
from tests.videos_helpers import ready_video
from videos import services, storyboard

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def case(api, uploader, tmp_path, django_capture_on_commit_callbacks):
    """A 6 s clip through the real pipeline: a storyboard frame every 2 s (0:00, 0:02, 0:04)."""
    video = ready_video(api, uploader, clip(tmp_path / "six.mp4", seconds=6), django_capture_on_commit_callbacks)
    api.force_authenticate(None)
    video.refresh_from_db()
    assert video.has_poster and video.has_storyboard
    return video


def edit_url(video):
    return f"/videos/{video.uuid}/edit/"


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def choose(client, video, **fields):
    return client.post(edit_url(video), {"action": "poster", **{f"poster-{k}": v for k, v in fields.items()}})


def test_the_edit_page_offers_the_storyboard_frames(uploader_client, case):
    response = uploader_client.get(edit_url(case))
    assert response.status_code == 200
    body = response.content.decode()
    frames = re.findall(r'<input type="radio" name="poster-at" id="poster-frame-\d+" value="([^"]+)"', body)
    assert frames == ["0.0", "2.0", "4.0"]
    assert re.findall(r'<svg viewBox="([\d ]+)"', body)[:2] == ["0 0 160 90", "160 0 160 90"]
    assert f"/api/v1/videos/{case.uuid}/media/storyboard.jpg?token=" in body
    assert f"/api/v1/videos/{case.uuid}/media/poster.jpg?token=" in body
    assert '<label for="id_poster-time" class="label">' in body and "Or type a time" in body


def test_the_owner_picks_a_frame(uploader_client, uploader, case):
    poster = case.hls_dir / "poster.jpg"
    before = poster.read_bytes()
    response = choose(uploader_client, case, at="4.0")
    assert response.status_code == 302
    assert response["Location"] == edit_url(case) + "#poster"
    after = poster.read_bytes()
    assert after[:2] == b"\xff\xd8" and after != before
    event = AuditEvent.objects.get(event="video_edit", actor=uploader, detail__fields=["poster"])
    assert event.detail["at"] == 4.0
    assert "The poster is now the frame at 0:04." in page_text(uploader_client.get(edit_url(case)))


def test_a_typed_time_wins_over_a_frame(uploader_client, uploader, case):
    assert choose(uploader_client, case, at="0.0", time="0:03").status_code == 302
    assert AuditEvent.objects.get(event="video_edit", detail__fields=["poster"]).detail["at"] == 3.0


def test_a_flagged_moment_is_refused_with_the_privacy_reason(uploader_client, case):
    scan = PrivacyScan.objects.create(video=case, status="flagged")
    PrivacyRange.objects.create(scan=scan, start=3.5, end=5.0, kinds=["face"])
    before = (case.hls_dir / "poster.jpg").read_bytes()
    response = choose(uploader_client, case, at="4.0")
    assert response.status_code == 200
    text = page_text(response)
    assert '<ul id="poster-at-errors" class="field-error mb-2 space-y-1" role="alert"><li>' in text
    assert "0:00:03–0:00:05 is flagged for privacy: choose a moment outside it" in text
    assert 'value="4.0" class="peer sr-only" checked' in text  # the choice stays, to correct it
    assert (case.hls_dir / "poster.jpg").read_bytes() == before
    assert not AuditEvent.objects.filter(event="video_edit", detail__fields=["poster"]).exists()
    # The same moment typed: the reason is shown under the time field.
    typed = page_text(choose(uploader_client, case, time="4"))
    assert 'aria-invalid="true"' in typed
    assert '<ul id="id_poster-time_errors" class="field-error space-y-1"><li>0:00:03–0:00:05 is flagged' in typed


@pytest.mark.parametrize(
    "fields,field,message",
    [
        ({"time": "soon"}, "time", "Type the time as seconds (90) or as minutes and seconds (1:30)."),
        ({"time": "9:00"}, "time", "Choose a time between 0 and {duration:g} seconds."),
        ({"at": "-1"}, "at", "Choose a time between 0 and {duration:g} seconds."),
        ({}, "at", "Choose a frame, or type a time."),
    ],
)
def test_bad_input_names_the_field(uploader_client, case, fields, field, message):
    response = choose(uploader_client, case, **fields)
    assert response.status_code == 200
    errors_id = "poster-at-errors" if field == "at" else "id_poster-time_errors"
    expected = message.format(duration=case.duration)
    assert re.search(rf'<ul id="{errors_id}"[^>]*><li>{re.escape(expected)}</li>', page_text(response))


def test_others_may_not_choose_the_poster(client, case, make_user, approver, editor):
    otto = make_user(roles.VIEWER, roles.UPLOADER, username="otto")
    client.force_login(otto)
    assert choose(client, case, at="2.0").status_code == 404  # not theirs, not published
    services.video_publish(user=approver, video=case)
    assert choose(client, case, at="2.0").status_code == 403  # seen, not theirs to edit
    client.force_login(make_user(roles.VIEWER, username="vic"))
    assert choose(client, case, at="2.0").status_code == 403
    assert not AuditEvent.objects.filter(event="video_edit", detail__fields=["poster"]).exists()
    otp_client(editor, client)
    assert choose(client, case, at="2.0").status_code == 302


def test_replace_recording_is_offered_on_the_edit_page_and_for_a_rejected_upload(
    uploader_client, case, approver, settings
):
    edit = uploader_client.get(edit_url(case)).content.decode()
    assert f'data-video="{case.uuid}"' in edit and 'data-endpoint="/api/v1/uploads/"' in edit
    assert f'id="replace-{case.uuid}-file" class="file-input" accept=".{settings.VIDEO_EXTENSIONS[0]},' in edit
    assert "js/replace-recording.js" in edit and "vendor/tus.min.js" in edit
    mine = uploader_client.get("/videos/mine/").content.decode()
    assert "data-replace" not in mine  # awaiting review: nothing to replace from here
    services.video_reject(user=approver, video=case, reason="Not the actual recording.")
    mine = uploader_client.get("/videos/mine/").content.decode()
    assert mine.count("data-replace-disclosure") == 1 and f'data-video="{case.uuid}"' in mine


def test_storyboard_cues_become_frames(tmp_path):
    text = (
        "WEBVTT\n\n00:00:02.000 --> 00:00:04.000\nstoryboard.jpg#xywh=160,0,160,90\n\n"
        "00:00:00.000 --> 00:00:02.000\nstoryboard.jpg#xywh=0,0,160,90\n\n"
        "01:00:00.000 --> 01:00:02.500\nstoryboard.jpg#xywh=0,90,160,90\n\nnot a cue\n"
    )
    board = storyboard.parse(text)
    assert [(f.start, f.end, f.x, f.y) for f in board.frames] == [
        (0.0, 2.0, 0, 0),
        (2.0, 4.0, 160, 0),
        (3600.0, 3602.5, 0, 90),
    ]
    assert (board.sprite_width, board.sprite_height) == (320, 180)
    assert storyboard.parse("WEBVTT\n") is None
    (tmp_path / "storyboard.vtt").write_text(text)
    assert storyboard.read(tmp_path) is None  # cues without their sprite
    (tmp_path / "storyboard.jpg").write_bytes(b"\xff\xd8")
    assert len(storyboard.read(tmp_path).frames) == 3


@pytest.mark.parametrize(
    "typed,seconds",
    [("90", 90.0), ("1:30", 90.0), ("1:02:03", 3723.0), ("0:04.5", 4.5), (" ", None), ("1:75", "x"), ("-3", "x")],
)
def test_a_time_is_typed_as_a_clock_reads_it(typed, seconds):
    field = ClockField(required=False)
    if seconds == "x":
        with pytest.raises(forms.ValidationError, match=r"Type the time as seconds \(90\)"):
            field.clean(typed)
    else:
        assert field.clean(typed) == seconds
