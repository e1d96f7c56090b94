"""
Speech-to-text draft captions (issue #16), optional: with a transcriber configured, a video's
first ladder queues a job on the transcode cluster that extracts its first audio track with
FFmpeg (16 kHz mono WAV), transcribes it and writes a caption track marked machine-made; a
person's track is never replaced, a video without audio gets nothing, and a model folder that
is not there is a recorded, logged failure (nothing downloaded).

The transcriber is tests.teaching.stt_plug: it reads the real WAV (format, length, loudness).
"""

import io
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from teaching import captions, speech
from teaching.models import Caption, CaptionCue, Transcription
from tests.teaching import stt_plug
from tests.videos_helpers import ready_video
from videos import storage


def watch_url(video):
    return reverse("videos:watch", kwargs={"video_uuid": video.uuid})


pytestmark = pytest.mark.django_db

PLUG = "tests.teaching.stt_plug:transcribe"


@pytest.fixture
def stt(settings):
    """Speech-to-text on with the test transcriber, nothing in the way of publishing."""
    settings.CAPTIONS_TRANSCRIBER = PLUG
    settings.CAPTIONS_STT_MODEL_DIR = ""
    settings.CAPTIONS_STT_LANGUAGE = "en"
    settings.PUBLISH_REQUIRED_FIELDS = []
    stt_plug.HEARD.clear()
    speech._load.cache_clear()
    yield settings
    speech._load.cache_clear()


def captions_of(api, user, video):
    api.force_authenticate(user)
    response = api.get(f"/api/v1/videos/{video.uuid}/captions/")
    assert response.status_code == 200
    return response.json()


def upload_caption(api, user, video, text: str, language="en", label="English"):
    api.force_authenticate(user)
    data = {"file": SimpleUploadedFile("fixed.vtt", text.encode()), "language": language, "label": label}
    return api.post(f"/api/v1/videos/{video.uuid}/captions/", data, format="multipart")


def reprocess(api, user, video, capture):
    api.force_authenticate(user)
    with capture(execute=True):
        response = api.post(f"/api/v1/videos/{video.uuid}/reprocess/")
    assert response.status_code == 200, response.content


def test_a_finished_ladder_gets_a_machine_made_draft_from_its_real_audio(
    api, uploader, editor, media, stt, django_capture_on_commit_callbacks
):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks, title="Lap chole 7")

    # The transcriber read what FFmpeg made: 16 kHz mono 16-bit, the clip's 2 s of a 440 Hz tone.
    assert len(stt_plug.HEARD) == 1
    heard = stt_plug.HEARD[0]
    assert (heard["language"], heard["rate"], heard["channels"], heard["width"]) == ("en", 16000, 1, 2)
    assert heard["seconds"] == pytest.approx(2.0, abs=0.05)
    assert heard["rms"] > 1000

    video.refresh_from_db()
    caption = Caption.objects.get(video=video)
    assert (caption.language, caption.label, caption.machine_made, caption.created_by) == (
        "en",
        "English (automatic, draft)",
        True,
        None,
    )
    half = round(heard["seconds"] / 2, 3)
    said = f"Heard {heard['seconds']:.2f} s at 16000 Hz <mono> & loud True"
    assert list(CaptionCue.objects.filter(caption=caption).values_list("start", "end", "text")) == [
        (0.0, half, "The cystic artery is clipped."),
        (half, video.duration, said),  # cut at the end of the video
    ]
    stored = (storage.media_root() / captions.relative_path(video.uuid, caption.pk)).read_text()
    assert stored == (
        f"WEBVTT\n\n00:00:00.000 --> {captions.timestamp(half)}\nThe cystic artery is clipped.\n\n"
        f"{captions.timestamp(half)} --> {captions.timestamp(video.duration)}\n"
        f"Heard {heard['seconds']:.2f} s at 16000 Hz &lt;mono&gt; &amp; loud True\n"
    )
    assert captions.parse(stored.encode())[1].plain == said  # an editor can upload it back as it is
    assert Transcription.objects.get(video=video).status == "done"

    # Editors see it flagged in the API…
    listed = captions_of(api, editor, video)
    assert [(c["id"], c["label"], c["machine_made"]) for c in listed] == [
        (caption.pk, "English (automatic, draft)", True)
    ]
    # …and search finds a word said only in it, at its moment.
    found = api.get("/api/v1/videos/", {"q": "cystic"}).json()
    assert [row["id"] for row in found["results"]] == [str(video.uuid)]
    assert found["results"][0]["matches"] == [{"at": 0.0, "text": "The cystic artery is clipped."}]


def test_the_watch_page_flags_the_draft_for_editors_and_in_the_cc_menu(
    api, editor_client, uploader, media, stt, django_capture_on_commit_callbacks
):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    page = editor_client.get(watch_url(video))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'srclang="en" label="English (automatic, draft)" data-caption-track' in html
    assert "Automatic — needs checking" in html
    assert "Speech-to-text made a draft" in html


def test_an_editors_upload_in_the_drafts_language_corrects_it(
    api, uploader, editor, media, stt, django_capture_on_commit_callbacks
):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    draft = Caption.objects.get(video=video)
    response = upload_caption(
        api, editor, video, "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nThe cystic duct is clipped.\n", label="English"
    )
    assert response.status_code == 201, response.content
    assert (response.json()["id"], response.json()["label"], response.json()["machine_made"]) == (
        draft.pk,
        "English",
        False,
    )
    draft.refresh_from_db()
    assert (draft.machine_made, draft.created_by) == (False, editor)
    assert list(CaptionCue.objects.filter(caption=draft).values_list("text", flat=True)) == [
        "The cystic duct is clipped."
    ]
    assert [c["machine_made"] for c in captions_of(api, editor, video)] == [False]


def test_a_person_s_track_is_never_replaced_and_a_rerun_replaces_only_the_draft(
    api, uploader, editor, media, stt, django_capture_on_commit_callbacks
):
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    first_draft = Caption.objects.get(video=video)
    portuguese = upload_caption(
        api, editor, video, "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nA artéria cística.\n", language="pt-BR"
    ).json()["id"]
    portuguese_file = storage.media_root() / captions.relative_path(video.uuid, portuguese)
    portuguese_vtt = portuguese_file.read_text()

    # A reprocess transcribes again: a new draft replaces the old one; the person's track stays.
    reprocess(api, uploader, video, django_capture_on_commit_callbacks)
    assert len(stt_plug.HEARD) == 2
    rows = {c.pk: (c.language, c.machine_made) for c in Caption.objects.filter(video=video)}
    draft = Caption.objects.get(video=video, machine_made=True)
    assert rows == {portuguese: ("pt-BR", False), draft.pk: ("en", True)}
    assert draft.pk != first_draft.pk
    assert not (storage.media_root() / captions.relative_path(video.uuid, first_draft.pk)).exists()
    assert portuguese_file.read_text() == portuguese_vtt

    # Once a person has given the English captions, a re-run leaves them alone and writes nothing.
    corrected = upload_caption(api, editor, video, "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nChecked words.\n")
    assert corrected.json()["id"] == draft.pk
    english_vtt = (storage.media_root() / captions.relative_path(video.uuid, draft.pk)).read_text()
    reprocess(api, uploader, video, django_capture_on_commit_callbacks)
    assert {c.pk: (c.language, c.machine_made) for c in Caption.objects.filter(video=video)} == {
        portuguese: ("pt-BR", False),
        draft.pk: ("en", False),
    }
    assert (storage.media_root() / captions.relative_path(video.uuid, draft.pk)).read_text() == english_vtt
    assert list(CaptionCue.objects.filter(caption_id=draft.pk).values_list("text", flat=True)) == ["Checked words."]
    transcription = Transcription.objects.get(video=video)
    assert (transcription.status, transcription.reason) == ("skipped", "A person added the en captions.")
    assert len(stt_plug.HEARD) == 2  # not even transcribed


def test_a_video_without_audio_gets_no_track(api, uploader, media, stt, caplog, django_capture_on_commit_callbacks):
    with caplog.at_level(logging.INFO, logger="teaching.services"):
        video = ready_video(api, uploader, media.no_audio(), django_capture_on_commit_callbacks)
    assert Caption.objects.filter(video=video).count() == 0
    assert stt_plug.HEARD == []
    transcription = Transcription.objects.get(video=video)
    assert (transcription.status, transcription.reason) == ("skipped", "The recording has no audio track.")
    logged = [r for r in caplog.records if r.name == "teaching.services" and r.getMessage() == "speech-to-text skipped"]
    assert [(r.video, r.reason) for r in logged] == [(str(video.uuid), "The recording has no audio track.")]


@pytest.mark.parametrize("what", ["missing", "a file", "an empty folder"])
def test_a_model_folder_that_is_not_there_is_a_logged_failure_and_nothing_is_downloaded(
    api, uploader, editor_client, media, stt, settings, tmp_path, monkeypatch, caplog, what,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    hub = tmp_path / "hub-cache"  # where a model would land if anything tried to fetch one
    monkeypatch.setenv("HF_HOME", str(hub))
    monkeypatch.setenv("XDG_CACHE_HOME", str(hub))
    model_dir = tmp_path / "whisper-small"
    if what == "a file":
        model_dir.write_text("not a model")
    elif what == "an empty folder":
        model_dir.mkdir()
    settings.CAPTIONS_TRANSCRIBER = ""
    settings.CAPTIONS_STT_MODEL_DIR = str(model_dir)

    with caplog.at_level(logging.INFO):
        video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)

    assert Caption.objects.filter(video=video).count() == 0
    transcription = Transcription.objects.get(video=video)
    reason = {
        "missing": "CAPTIONS_STT_MODEL_DIR is not an existing folder on the transcode worker: set it to a "
        "faster-whisper (CTranslate2) model folder. Nothing is downloaded.",
        "a file": "CAPTIONS_STT_MODEL_DIR is not an existing folder on the transcode worker: set it to a "
        "faster-whisper (CTranslate2) model folder. Nothing is downloaded.",
        "an empty folder": "CAPTIONS_STT_MODEL_DIR holds no model.bin: it is not a faster-whisper "
        "(CTranslate2) model folder.",
    }[what]
    assert (transcription.status, transcription.reason) == ("failed", reason)
    failures = [r for r in caplog.records if r.getMessage() == "speech-to-text failed"]
    assert [(r.levelname, r.video, r.reason) for r in failures] == [("WARNING", str(video.uuid), reason)]
    assert str(model_dir) not in transcription.reason  # server paths stay in the log
    # Nothing fetched: no model cache, and the folder is as it was.
    assert not hub.exists()
    assert {"missing": not model_dir.exists(), "a file": model_dir.is_file(), "an empty folder": True}[what]
    if what == "an empty folder":
        assert list(model_dir.iterdir()) == []

    # The video itself is fine, and its editors read why there are no automatic captions.
    video.refresh_from_db()
    assert video.status == "processed"
    assert f"No automatic captions (failed): {reason}" in editor_client.get(watch_url(video)).content.decode()


def test_a_transcriber_that_raises_is_recorded_not_raised(
    api, uploader, media, stt, caplog, django_capture_on_commit_callbacks
):
    stt.CAPTIONS_TRANSCRIBER = "tests.teaching.stt_plug:broken"
    with caplog.at_level(logging.INFO):
        video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    transcription = Transcription.objects.get(video=video)
    assert (transcription.status, transcription.reason) == (
        "failed",
        "The transcriber failed (RuntimeError); see the worker's log.",
    )
    assert Caption.objects.filter(video=video).count() == 0
    assert any(r.getMessage() == "speech-to-text transcriber failed" and r.exc_info for r in caplog.records)


def test_without_speech_to_text_nothing_is_queued(api, uploader, media, settings, django_capture_on_commit_callbacks):
    settings.CAPTIONS_TRANSCRIBER = settings.CAPTIONS_STT_MODEL_DIR = ""
    settings.PUBLISH_REQUIRED_FIELDS = []
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    assert video.status in ("processed", "published")
    assert Transcription.objects.count() == 0
    assert Caption.objects.count() == 0


def test_segments_become_cues_inside_the_video():
    cues = speech.cues_from(
        [(3.0, 2.0, "backwards"), (-1, 1.5, "before the start"), (9.5, 12, "past the end"), (11, 12, "beyond"),
         (4, 5, "a --> b")],
        duration=10,
    )  # fmt: skip
    assert [(c.start, c.end, c.plain) for c in cues] == [
        (0.0, 1.5, "before the start"),
        (3.0, 4.0, "backwards"),  # no length: a second
        (4.0, 5.0, "a --> b"),
        (9.5, 10.0, "past the end"),
    ]
    assert cues[2].text == "a --&gt; b"
    with pytest.raises(speech.SpeechError, match="segments"):
        speech.cues_from([(0, 1)], duration=10)


def test_the_audio_command_takes_the_first_audio_track_as_16_khz_mono_wav(tmp_path):
    argv = speech.audio_command(source=tmp_path / "in.mp4", target=tmp_path / "out.wav")
    assert argv[argv.index("-map") + 1] == "0:a:0"
    assert (argv[argv.index("-ar") + 1], argv[argv.index("-ac") + 1], argv[argv.index("-c:a") + 1]) == (
        "16000",
        "1",
        "pcm_s16le",
    )
    assert argv[argv.index("-protocol_whitelist") + 1] == "file"
    assert argv[argv.index("-map_metadata") + 1] == "-1"


def test_the_command_transcribes_videos_from_before_speech_to_text(
    api, uploader, media, settings, django_capture_on_commit_callbacks
):
    settings.CAPTIONS_TRANSCRIBER = settings.CAPTIONS_STT_MODEL_DIR = ""
    settings.PUBLISH_REQUIRED_FIELDS = []
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks)
    with pytest.raises(CommandError, match="Speech-to-text is off"):
        call_command("captions_transcribe", "--untranscribed")

    settings.CAPTIONS_TRANSCRIBER = PLUG
    speech._load.cache_clear()
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("captions_transcribe", "--untranscribed", stdout=out)
    assert out.getvalue() == "1 transcription(s) queued\n"
    assert Caption.objects.get(video=video).machine_made is True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("captions_transcribe", "--untranscribed", stdout=out)  # done once: not again
    assert out.getvalue().endswith("0 transcription(s) queued\n")
    speech._load.cache_clear()
