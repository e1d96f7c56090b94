"""
The privacy scan (issue #17): one decode of the original at 1 frame a second; out-of-body
frames (colour and vignette) and faces (OpenCV's Haar cascade) become ranges; only ranges are
stored; the scan runs on the transcode cluster when a first ladder is complete.
"""

import numpy as np
import pytest

from privacy import classify, scanning
from privacy.models import PrivacyScan
from tests.privacy.conftest import FACE_FROM, FACE_TO, frames
from tests.videos_helpers import ready_video

pytestmark = pytest.mark.django_db


def test_the_face_case_is_flagged_on_its_10_seconds_only(face_case):
    result = scanning.scan_file(face_case)
    assert [(r.start, r.end) for r in result.ranges] == [(FACE_FROM, FACE_TO)]
    assert result.ranges[0].kinds == ["face", "out_of_body"]
    assert 0.5 <= result.ranges[0].confidence <= 1
    assert result.frames == 30
    assert result.cpu_seconds > 0


def test_the_classifiers_tell_tissue_from_a_face(face_case):
    tissue = frames(face_case, start=2, end=3)[0]
    face = frames(face_case, start=15, end=16)[0]
    assert classify.colour_statistics(tissue) < 0.5 <= classify.colour_statistics(face)
    assert classify.faces(tissue) == []
    assert len(classify.faces(face)) == 1


def test_a_dark_frame_is_not_out_of_body():
    assert classify.colour_statistics(np.zeros((90, 160, 3), np.uint8)) == 0.0


def test_a_plugged_in_classifier_replaces_the_statistics(face_case, settings):
    settings.PRIVACY_CLASSIFIER = "tests.privacy.test_scan:everything_is_outside"
    classify._load.cache_clear()
    try:
        result = scanning.scan_file(face_case)
    finally:
        classify._load.cache_clear()
    assert [(r.start, r.end) for r in result.ranges] == [(0, 30)]


def everything_is_outside(frame) -> float:
    return 0.97


def test_neighbouring_hits_merge_and_a_lone_glimpse_stays():
    hit = scanning.Hit
    hits = [hit(3, ("face",), 0.9), hit(4, ("out_of_body",), 0.7), hit(6, ("face",), 0.9), hit(20, ("face",), 0.9)]
    ranges = scanning.merge_hits(hits, step=1, duration=30)
    assert [(r.start, r.end, r.kinds) for r in ranges] == [
        (3, 7, ["face", "out_of_body"]),
        (20, 21, ["face"]),
    ]
    assert ranges[0].confidence == pytest.approx((0.9 + 0.7 + 0.9) / 3, abs=0.001)


def test_the_sample_command_is_one_small_raw_decode(face_case):
    from videos import transcoding

    probe = transcoding.probe(face_case)
    argv = scanning.sample_command(source=face_case, probe=probe, fps=1, size=scanning.sample_size(probe))
    assert argv.count("-i") == 1
    assert argv[argv.index("-vf") + 1] == "fps=1,scale=320:180:flags=area"
    assert (argv[argv.index("-f") + 1], argv[argv.index("-pix_fmt") + 1], argv[-1]) == ("rawvideo", "rgb24", "pipe:")


@pytest.mark.django_db(transaction=True)
def test_a_finished_ladder_is_scanned_and_only_ranges_are_kept(
    api, uploader, face_case, scanning, django_capture_on_commit_callbacks
):
    video = ready_video(api, uploader, face_case, django_capture_on_commit_callbacks, title="Case 1")
    scan = PrivacyScan.objects.get(video=video)
    assert (scan.status, scan.frames) == ("flagged", 30)
    assert [(r.start, r.end, r.decision, r.hand_made) for r in scan.ranges.all()] == [
        (FACE_FROM, FACE_TO, "undecided", False)
    ]
    assert video.status == "processed"


@pytest.mark.django_db(transaction=True)
def test_without_the_setting_nothing_is_scanned(api, uploader, face_case, django_capture_on_commit_callbacks):
    video = ready_video(api, uploader, face_case, django_capture_on_commit_callbacks, title="Case 2")
    assert not PrivacyScan.objects.filter(video=video).exists()


def test_videos_from_before_the_scan_are_scanned_by_the_command(
    face_case, settings, django_capture_on_commit_callbacks
):
    import shutil
    from pathlib import Path

    from django.core.management import call_command

    from tests.factories import VideoFactory

    video = VideoFactory(status="processed", original_path="originals/old-case.mp4", duration=30)
    VideoFactory(status="published", original_path="")  # scanned below too: no original, nothing found
    target = Path(settings.MEDIA_ROOT) / video.original_path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(face_case, target)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("privacy_scan", "--unscanned")
    scan = PrivacyScan.objects.get(video=video)
    assert (scan.status, [(r.start, r.end) for r in scan.ranges.all()]) == ("flagged", [(FACE_FROM, FACE_TO)])
