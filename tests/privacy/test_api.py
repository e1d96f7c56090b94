"""
The privacy API (issue #17): read the ranges, decide one, mark one by hand, apply. Approvers
and the owner decide; editors read; a viewer never sees privacy data (404 when the video is
invisible to them, 403 when it is published); bad input is 400 naming the field.
"""

import pytest

from audit.models import AuditEvent
from privacy.models import PrivacyRange

pytestmark = pytest.mark.django_db


def url(video, tail=""):
    return f"/api/v1/videos/{video.uuid}/privacy/{tail}"


def test_the_owner_reads_status_and_ranges(api, uploader, flagged):
    video = flagged()
    api.force_authenticate(uploader)
    response = api.get(url(video))
    assert response.status_code == 200
    first, second = video.privacy_scan.ranges.all()
    assert response.json() == {
        "status": "flagged",
        "applying": False,
        "ranges": [
            {"id": first.pk, "start": 10.0, "end": 20.0, "kinds": ["face"], "confidence": 0.9,
             "decision": "undecided", "reason": "", "hand_made": False},
            {"id": second.pk, "start": 65.0, "end": 70.0, "kinds": ["out_of_body"], "confidence": 0.7,
             "decision": "undecided", "reason": "", "hand_made": False},
        ],
    }  # fmt: skip


def test_a_video_never_scanned_reads_pending(api, approver):
    from tests.factories import VideoFactory

    api.force_authenticate(approver)
    assert api.get(url(VideoFactory(status="processed"))).json() == {
        "status": "pending",
        "applying": False,
        "ranges": [],
    }


def test_viewers_never_see_privacy_data(api, viewer, flagged):
    hidden = flagged()
    published = flagged(status="published")
    api.force_authenticate(viewer)
    assert api.get(url(hidden)).status_code == 404
    assert api.get(url(published)).status_code == 403
    rng = published.privacy_scan.ranges.first()
    assert api.patch(url(published, f"ranges/{rng.pk}/"), {"decision": "blur"}, format="json").status_code == 403
    assert api.post(url(published, "ranges/"), {"start": 1, "end": 2}, format="json").status_code == 403
    assert api.post(url(published, "apply/")).status_code == 403
    assert api.patch(url(hidden, f"ranges/{rng.pk}/"), {"decision": "blur"}, format="json").status_code == 404
    rng.refresh_from_db()
    assert rng.decision == "undecided"


def test_another_uploader_gets_404_and_an_editor_reads_but_does_not_decide(api, make_user, editor, flagged):
    video = flagged()
    rng = video.privacy_scan.ranges.first()
    api.force_authenticate(make_user("Viewer", "Uploader"))
    assert api.get(url(video)).status_code == 404
    api.force_authenticate(editor)
    assert api.get(url(video)).status_code == 200
    response = api.patch(url(video, f"ranges/{rng.pk}/"), {"decision": "blur"}, format="json")
    assert response.status_code == 403


def test_an_approver_decides_and_it_is_audited(api, approver, flagged):
    video = flagged()
    rng = video.privacy_scan.ranges.first()
    api.force_authenticate(approver)
    response = api.patch(url(video, f"ranges/{rng.pk}/"), {"decision": "blur"}, format="json")
    assert response.status_code == 200
    assert response.json()["decision"] == "blur"
    rng.refresh_from_db()
    assert (rng.decision, rng.decided_by, rng.decided_at is not None) == ("blur", approver, True)
    event = AuditEvent.objects.get(event="video_edit", actor=approver)
    assert event.detail["privacy_range"] == "0:00:10–0:00:20"
    assert (event.detail["decision"], event.detail["previous"]) == ("blur", "undecided")


def test_keep_needs_a_reason(api, uploader, flagged):
    video = flagged()
    rng = video.privacy_scan.ranges.first()
    api.force_authenticate(uploader)
    response = api.patch(url(video, f"ranges/{rng.pk}/"), {"decision": "keep", "reason": "  "}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "reason"}
    response = api.patch(url(video, f"ranges/{rng.pk}/"), {"decision": "keep", "reason": "Anatomy only"}, format="json")
    assert (response.status_code, response.json()["reason"]) == (200, "Anatomy only")
    assert AuditEvent.objects.get(event="video_edit").detail["reason"] == "Anatomy only"


@pytest.mark.parametrize("body", [{"decision": "smudge"}, {"decision": "undecided"}, {}])
def test_an_unknown_decision_is_400_naming_decision(api, approver, flagged, body):
    video = flagged()
    rng = video.privacy_scan.ranges.first()
    api.force_authenticate(approver)
    response = api.patch(url(video, f"ranges/{rng.pk}/"), body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "decision"}


def test_a_range_of_another_video_is_404(api, approver, flagged):
    one, other = flagged(), flagged()
    api.force_authenticate(approver)
    rng = other.privacy_scan.ranges.first()
    assert api.patch(url(one, f"ranges/{rng.pk}/"), {"decision": "blur"}, format="json").status_code == 404


def test_a_range_marked_by_hand(api, approver, flagged):
    video = flagged(duration=120)
    api.force_authenticate(approver)
    response = api.post(url(video, "ranges/"), {"start": 30, "end": 42.5}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["start"], body["end"], body["kinds"], body["decision"], body["hand_made"]) == (
        30.0, 42.5, ["manual"], "undecided", True,
    )  # fmt: skip
    assert PrivacyRange.objects.filter(scan__video=video, hand_made=True).count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"start": -1, "end": 5}, "start"),
        ({"start": "soon", "end": 5}, "start"),
        ({"start": 5, "end": 5}, "end"),
        ({"start": 9, "end": 3}, "end"),
        ({"start": 200, "end": 210}, "start"),
        ({"start": 1}, "end"),
    ],
)
def test_bad_hand_made_ranges_are_400_naming_the_field(api, approver, flagged, body, field):
    video = flagged(duration=120)
    api.force_authenticate(approver)
    response = api.post(url(video, "ranges/"), body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", field}
    assert PrivacyRange.objects.filter(scan__video=video, hand_made=True).count() == 0


def test_apply_refuses_while_ranges_are_undecided(api, approver, flagged):
    video = flagged()
    api.force_authenticate(approver)
    response = api.post(url(video, "apply/"))
    assert response.status_code == 400
    assert response.json()["ranges"] == ["Decide every range first; undecided: 0:00:10–0:00:20, 0:01:05–0:01:10"]


def test_apply_with_everything_kept_resolves_without_a_reencode(api, approver, flagged):
    video = flagged()
    for rng in video.privacy_scan.ranges.all():
        rng.decision, rng.reason = "keep", "Teaching value"
        rng.save()
    api.force_authenticate(approver)
    response = api.post(url(video, "apply/"))
    assert (response.status_code, response.json()["status"]) == (202, "resolved")
    video.refresh_from_db()
    assert video.job_token is None  # nothing was queued
