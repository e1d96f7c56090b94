"""
Applying privacy decisions re-encodes only the chunks they touch (issue #17, through the
long-case pipeline of issue #14): blur, black-out and masks are a picture edit of the chunked
transcode, the chunks outside the changed stretches are taken from the served ladder as they
are (the very same files), and the stream stays seamless. Masks apply from the first encode.
"""

import pytest

from privacy import services
from privacy.models import Mask, PrivacyScan
from tests.privacy.conftest import FACE_FROM, FACE_TO, LENGTH, faces_in, keep_copy, seconds_of, ssim
from tests.privacy.test_redaction import _corner_detail, _decide_and_apply, _flagged_case
from tests.videos_helpers import local_playlist, ready_video
from videos import transcoding

pytestmark = pytest.mark.django_db(transaction=True)

RUNGS = ("480p", "360p")


@pytest.fixture
def six_second_chunks(settings):
    """Chunks of one segment each: 0–6, 6–12, 12–18, 18–24, 24–30 (the face, 10–20, touches 1, 2 and 3)."""
    settings.TRANSCODE_FIRST_CHUNK_SECONDS = 6
    settings.TRANSCODE_CHUNK_SECONDS = 6
    return settings


def _files(video) -> dict[str, tuple[int, bytes]]:
    """Every segment of the served ladder (rungs and audio): its inode and bytes."""
    files = {}
    for folder in (*RUNGS, "audio"):
        for path in sorted((video.hls_dir / folder).glob("seg_*.ts")):
            files[f"{folder}/{path.name}"] = (path.stat().st_ino, path.read_bytes())
    return files


def _same(before: dict, after: dict) -> set[str]:
    return {name for name, (inode, data) in after.items() if before.get(name) == (inode, data)}


def test_blur_re_encodes_only_the_chunks_it_touches(
    api, uploader, approver, face_case, scanning, six_second_chunks, django_capture_on_commit_callbacks, tmp_path
):
    capture = django_capture_on_commit_callbacks
    video, face = _flagged_case(api, uploader, face_case, capture)
    key, iv = bytes(video.hls_key), video.hls_iv
    unredacted = keep_copy(video, "480p", tmp_path / "before.mkv")
    frames_before = seconds_of(local_playlist(video, "480p"))
    before = _files(video)
    assert len([name for name in before if name.startswith("480p/")]) == 5  # one segment a chunk

    video = _decide_and_apply(api, approver, video, face, "blur", capture)
    assert PrivacyScan.objects.get(video=video).status == "resolved"
    after = _files(video)
    # Chunks 0 and 4 and the audio are the served ladder's own files; 1, 2 and 3 were encoded again.
    untouched = {f"{rung}/seg_{n:05d}.ts" for rung in RUNGS for n in (0, 4)}
    assert _same(before, after) == untouched | {name for name in before if name.startswith("audio/")}
    assert all(after[name][1] != before[name][1] for rung in RUNGS for name in (f"{rung}/seg_00002.ts",))
    assert (bytes(video.hls_key), video.hls_iv) == (key, iv)  # the kept segments are encrypted with it

    redacted = local_playlist(video, "480p")
    for rung in RUNGS:
        assert faces_in(local_playlist(video, rung), start=FACE_FROM, end=FACE_TO) == 0
    # Seamless: every frame is there once, and what was not decided is as it was.
    assert seconds_of(redacted) == pytest.approx(frames_before, abs=0.001)
    audio = transcoding.playlist_seconds((video.hls_dir / "audio" / "index.m3u8").read_text())
    assert audio == pytest.approx(LENGTH, abs=0.05)
    assert ssim(unredacted, redacted, start=0, end=FACE_FROM - 0.5) >= 0.99
    assert ssim(unredacted, redacted, start=FACE_TO + 0.5, end=LENGTH) >= 0.99

    # A second decision, by hand on 0:25–0:27: only chunk 4 is encoded again.
    first_pass = after
    api.force_authenticate(approver)
    made = api.post(f"/api/v1/videos/{video.uuid}/privacy/ranges/", {"start": 25, "end": 27}, format="json")
    assert made.status_code == 201, made.content
    patched = api.patch(
        f"/api/v1/videos/{video.uuid}/privacy/ranges/{made.json()['id']}/", {"decision": "black"}, format="json"
    )
    assert patched.status_code == 200, patched.content
    with capture(execute=True):
        assert api.post(f"/api/v1/videos/{video.uuid}/privacy/apply/").status_code == 202
    video.refresh_from_db()
    assert PrivacyScan.objects.get(video=video).status == "resolved"
    again = _files(video)
    assert _same(first_pass, again) == set(first_pass) - {f"{rung}/seg_00004.ts" for rung in RUNGS}
    assert faces_in(local_playlist(video, "480p"), start=FACE_FROM, end=FACE_TO) == 0

    # Nothing changed since: applying again re-encodes nothing and is resolved at once.
    with capture(execute=True):
        assert api.post(f"/api/v1/videos/{video.uuid}/privacy/apply/").json()["status"] == "resolved"
    assert _same(again, _files(video)) == set(again)

    # A plain reprocess keeps every decision: the face stays blurred.
    with capture(execute=True):
        assert api.post(f"/api/v1/videos/{video.uuid}/reprocess/").status_code == 200
    video.refresh_from_db()
    assert (video.status, video.failure_reason) == ("processed", "")
    assert faces_in(local_playlist(video, "480p"), start=FACE_FROM, end=FACE_TO) == 0


def test_a_preset_mask_applies_from_the_first_encode(
    api, uploader, face_case, scanning, six_second_chunks, django_capture_on_commit_callbacks, tmp_path
):
    """The uploader's preset (the tower's overlay corner) is blurred before anyone could watch."""
    Mask.objects.create(name="Tower overlay", uploader=uploader, rectangles=[[0, 0, 0.25, 0.25]])
    masked = ready_video(api, uploader, face_case, django_capture_on_commit_callbacks, title="Masked")
    Mask.objects.all().delete()
    plain = ready_video(api, uploader, _recoded(face_case, tmp_path), django_capture_on_commit_callbacks, title="Plain")
    for rung in RUNGS:
        with_mask, without = _corner_detail(local_playlist(masked, rung)), _corner_detail(local_playlist(plain, rung))
        assert with_mask["inside"] < without["inside"] * 0.25
        assert with_mask["outside"] == pytest.approx(without["outside"], rel=0.15)


def _recoded(path, tmp_path):
    """The same picture in another file (two uploads of one file are refused as duplicates)."""
    from tests.media import ffmpeg

    target = tmp_path / "again.mp4"
    ffmpeg("-i", str(path), "-c", "copy", "-metadata", "title=again", str(target))
    return target


def test_what_changed_between_two_sets_of_decisions():
    served = {"spans": [[10.0, 20.0, "blur"]], "masks": []}
    assert services._changed({"spans": [[10.0, 20.0, "blur"]], "masks": []}, served) == []
    assert services._changed({"spans": [[10.0, 20.0, "black"]], "masks": []}, served) == [(10.0, 20.0), (10.0, 20.0)]
    assert services._changed({"spans": [], "masks": []}, served) == [(10.0, 20.0)]
    assert services._changed({"spans": [[10.0, 20.0, "blur"], [25.0, 27.0, "black"]], "masks": []}, served) == [
        (25.0, 27.0)
    ]
    assert services._changed({"spans": [[10.0, 20.0, "blur"]], "masks": [[0, 0, 0.25, 0.25]]}, served) is None
