"""Captions API: WebVTT or SRT in, WebVTT stored under MEDIA_ROOT, handed out by signed URL only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import roles
from teaching import captions
from teaching.models import Caption, CaptionCue
from tests.factories import VideoFactory
from videos import services as video_services
from videos import storage

pytestmark = pytest.mark.django_db

VTT = b"""WEBVTT

NOTE a comment block

1
00:00:01.000 --> 00:00:04.500 align:start
We open the <b>peritoneum</b> here.

00:01:02.250 --> 00:01:05.000
Now the critical view of safety &amp; the cystic artery.
"""

SRT = """1
00:00:00,500 --> 00:00:02,000
Ports are placed.

2
00:00:03,000 --> 00:00:06,000
Dissection of Calot\u2019s triangle
continues.
""".encode()


def url(video, cid=None):
    base = f"/api/v1/videos/{video.uuid}/captions/"
    return f"{base}{cid}/" if cid else base


def upload(client, video, data, name="captions.vtt", **fields):
    return client.post(url(video), {"file": SimpleUploadedFile(name, data), **fields}, format="multipart")


def test_the_owner_uploads_webvtt_and_a_viewer_gets_it_by_signed_url(as_user, uploader, viewer, video, client):
    response = upload(as_user(uploader), video, VTT, language="en", label="English")
    assert response.status_code == 201
    caption = Caption.objects.get()
    assert response.json()["id"] == caption.pk
    assert (response.json()["language"], response.json()["label"], response.json()["machine_made"]) == (
        "en",
        "English",
        False,
    )
    stored = storage.media_root() / captions.relative_path(video.uuid, caption.pk)
    assert stored.read_text() == (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.500\nWe open the <b>peritoneum</b> here.\n\n"
        "00:01:02.250 --> 00:01:05.000\nNow the critical view of safety &amp; the cystic artery.\n"
    )
    assert list(CaptionCue.objects.values_list("start", "end", "text")) == [
        (1.0, 4.5, "We open the peritoneum here."),
        (62.25, 65.0, "Now the critical view of safety & the cystic artery."),
    ]

    listed = as_user(viewer).get(url(video)).json()
    assert [(c["id"], c["language"], c["label"]) for c in listed] == [(caption.pk, "en", "English")]
    signed = listed[0]["url"]
    assert signed.startswith(f"/api/v1/videos/{video.uuid}/captions/{caption.pk}.vtt?token=")
    client.logout()
    fetched = client.get(signed)
    assert fetched.status_code == 200
    assert fetched["Content-Type"] == "text/vtt; charset=utf-8"
    assert b"".join(fetched.streaming_content).decode() == stored.read_text()


def test_srt_is_stored_as_webvtt(as_user, editor, video):
    response = upload(as_user(editor), video, SRT, name="case.srt", language="pt-BR")
    assert response.status_code == 201
    assert response.json()["label"] == "pt-BR"  # the language when no label is given
    caption = Caption.objects.get()
    assert (storage.media_root() / captions.relative_path(video.uuid, caption.pk)).read_text() == (
        "WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nPorts are placed.\n\n"
        "00:00:03.000 --> 00:00:06.000\nDissection of Calot\u2019s triangle\ncontinues.\n"
    )
    assert CaptionCue.objects.last().text == "Dissection of Calot\u2019s triangle continues."


def test_a_caption_url_is_refused_without_a_valid_token_and_after_unpublishing(
    as_user, uploader, viewer, video, client, make_user
):
    upload(as_user(uploader), video, VTT, language="en")
    signed = as_user(viewer).get(url(video)).json()[0]["url"]
    bare = signed.split("?")[0]
    assert client.get(bare).status_code == 401
    assert client.get(bare + "?token=1.2.3..x").status_code == 401
    other = VideoFactory(duration=30)
    assert client.get(signed.replace(str(video.uuid), str(other.uuid))).status_code == 401  # bound to the video
    assert client.get(signed).status_code == 200
    approver = make_user(roles.VIEWER, roles.APPROVER, username="appy2")
    video_services.video_archive(user=approver, video=video)
    assert client.get(signed).status_code == 401


def test_viewers_may_not_add_or_remove_captions(as_user, uploader, viewer, video):
    assert upload(as_user(viewer), video, VTT, language="en").status_code == 403
    cid = upload(as_user(uploader), video, VTT, language="en").json()["id"]
    assert as_user(viewer).delete(url(video, cid)).status_code == 403
    assert Caption.objects.count() == 1


def test_delete_removes_the_track_and_its_file(as_user, uploader, video, django_capture_on_commit_callbacks):
    cid = upload(as_user(uploader), video, VTT, language="en").json()["id"]
    stored = storage.media_root() / captions.relative_path(video.uuid, cid)
    assert stored.is_file()
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(uploader).delete(url(video, cid)).status_code == 204
    assert not Caption.objects.exists() and not CaptionCue.objects.exists()
    assert not stored.exists()
    assert as_user(uploader).delete(url(video, cid)).status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_invisible_video_and_stranger_are_404(as_user, viewer, stranger, uploader, video, method):
    unpublished = VideoFactory(uploader=uploader, duration=60, status="processed")
    for user, target in [(stranger, video), (viewer, unpublished)]:
        client = as_user(user)
        response = client.get(url(target)) if method == "get" else upload(client, target, VTT, language="en")
        assert response.status_code == 404
    assert not Caption.objects.exists()


@pytest.mark.parametrize(
    "data,error",
    [
        (b"", "Line 1: The file is empty."),
        (b"hello world\nthis is a letter\n", "Line 1: This is not a WebVTT or SRT caption file."),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "Line 3: This is not a text file."),
        (
            b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:05.000 -> 00:00:06.000\nbad\n",
            "Line 6: Expected a cue identifier then a timing line (00:00:01.000 --> 00:00:04.000).",
        ),
        (
            b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:09.000 --> 00:00:06.000\nbackwards\n",
            "Line 6: The cue ends before it starts.",
        ),
        (
            b"WEBVTT\n\n00:00:01.000 --> 00:00:02,000\ncomma\n",
            "Line 3: Unreadable timing line (use 00:00:01.000 --> 00:00:04.000).",
        ),
        (
            b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nline\n00:00:03.000 --> 00:00:04.000\n",
            "Line 5: A cue's text cannot contain \u201c-->\u201d (a missing blank line?).",
        ),
        (b"WEBVTT\n", "Line 1: The file has no cues."),
        (
            b"1\n00:00:01,000 --> 00:00:02,000\nok\n\nx\n00:00:03,000 --> 00:00:04,000\nbad number\n",
            "Line 5: An SRT cue starts with its number.",
        ),
        (b"1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe broken\n", "Line 3: The file is not UTF-8 text."),
    ],
)
def test_a_broken_file_is_a_400_naming_the_line(as_user, uploader, video, data, error):
    response = upload(as_user(uploader), video, data, language="en")
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid input.", "file": [error]}
    assert not Caption.objects.exists()
    assert not (storage.media_root() / "captions").exists()


@pytest.mark.parametrize(
    "fields,errors",
    [
        ({"language": "english!"}, {"language": ["Give a BCP 47 language tag, e.g. en or pt-BR."]}),
        ({}, {"language": ["Give a BCP 47 language tag, e.g. en or pt-BR."]}),
        ({"language": "en", "label": "x" * 81}, {"label": ["At most 80 characters."]}),
    ],
)
def test_bad_fields_are_a_400_naming_them(as_user, uploader, video, fields, errors):
    response = upload(as_user(uploader), video, VTT, **fields)
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid input.", **errors}


def test_a_missing_file_is_a_400(as_user, uploader, video):
    response = as_user(uploader).post(url(video), {"language": "en"}, format="multipart")
    assert response.json() == {"detail": "Invalid input.", "file": ["Attach a WebVTT or SRT file as file."]}
    assert response.status_code == 400


def test_deleting_the_video_removes_its_caption_files(
    as_user, uploader, make_user, video, django_capture_on_commit_callbacks
):
    cid = upload(as_user(uploader), video, VTT, language="en").json()["id"]
    stored = storage.media_root() / captions.relative_path(video.uuid, cid)
    admin = make_user(*roles.ROLES, username="root")
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(admin).delete(f"/api/v1/videos/{video.uuid}/").status_code == 204
    assert not Caption.objects.exists() and not CaptionCue.objects.exists()
    assert not stored.exists()
