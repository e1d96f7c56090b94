"""The review page's privacy panel (issue #17): ranges on the timeline, decide, mark by hand, apply; admin."""

import pytest

from audit.models import AuditEvent
from privacy.models import Mask, PrivacyRange
from tests.signin import otp_client

pytestmark = pytest.mark.django_db


def test_the_panel_shows_the_ranges_and_decides_them(client, approver, flagged):
    video = flagged(duration=120)
    otp_client(approver, client)
    page = client.get(f"/videos/review/{video.uuid}/").content.decode()
    assert 'data-privacy-status="flagged"' in page
    assert page.count("data-privacy-range=") == 2
    assert '<rect x="8.333" y="0" width="8.333"' in page  # 0:00:10–0:00:20 of 0:02:00
    first = video.privacy_scan.ranges.first()
    response = client.post(f"/privacy-review/{video.uuid}/ranges/{first.pk}/", {"decision": "keep"}, follow=True)
    assert "Reason: Say why this stretch may be kept as it is." in response.content.decode()
    first.refresh_from_db()
    assert first.decision == "undecided"
    client.post(f"/privacy-review/{video.uuid}/ranges/{first.pk}/", {"decision": "keep", "reason": "Ceiling only"})
    first.refresh_from_db()
    assert (first.decision, first.reason, first.decided_by) == ("keep", "Ceiling only", approver)
    response = client.post(f"/privacy-review/{video.uuid}/ranges/", {"start": "0:01:30", "end": "1:40"}, follow=True)
    assert "0:01:30–0:01:40 marked" in response.content.decode()
    assert PrivacyRange.objects.get(scan__video=video, hand_made=True).start == 90
    response = client.post(f"/privacy-review/{video.uuid}/ranges/", {"start": "later", "end": "1:40"}, follow=True)
    assert "Start: A number of seconds." in response.content.decode()
    response = client.post(f"/privacy-review/{video.uuid}/apply/", follow=True)
    assert "Decide every range first; undecided: 0:01:05–0:01:10, 0:01:30–0:01:40" in response.content.decode()
    assert AuditEvent.objects.filter(event="video_edit", actor=approver).count() == 2


def test_others_cannot_use_the_forms(client, make_staff, viewer, flagged):
    video = flagged()
    first = video.privacy_scan.ranges.first()
    client.force_login(viewer)
    assert client.post(f"/privacy-review/{video.uuid}/ranges/{first.pk}/", {"decision": "blur"}).status_code == 404
    make_staff("Editor", client)
    assert client.post(f"/privacy-review/{video.uuid}/ranges/{first.pk}/", {"decision": "blur"}).status_code == 403
    assert client.post(f"/privacy-review/{video.uuid}/apply/").status_code == 403
    first.refresh_from_db()
    assert first.decision == "undecided"


def test_admin_mask_rectangles_must_fit_the_picture(client, make_staff, flagged):
    video = flagged()
    make_staff("Admin", client)
    data = {"name": "Tower", "rectangles": "[[0.9, 0, 0.2, 0.1]]", "video": video.pk, "category": "", "uploader": ""}
    response = client.post("/admin/privacy/mask/add/", data)
    assert response.status_code == 200
    assert "Each rectangle is [x, y, w, h] in fractions of the picture, inside it." in response.content.decode()
    data["rectangles"] = "[[0.75, 0, 0.25, 0.1]]"
    assert client.post("/admin/privacy/mask/add/", data).status_code == 302
    assert Mask.objects.get().rectangles == [[0.75, 0, 0.25, 0.1]]


def test_a_video_never_scanned_says_so(client, approver, settings):
    from tests.factories import VideoFactory

    video = VideoFactory(status="processed", duration=60)
    otp_client(approver, client)
    page = client.get(f"/videos/review/{video.uuid}/").content.decode()
    assert 'data-privacy-status="unscanned"' in page and "Not scanned" in page
    settings.PRIVACY_SCAN = True
    page = client.get(f"/videos/review/{video.uuid}/").content.decode()
    assert 'data-privacy-status="pending"' in page and "Scan pending" in page


def test_a_poster_is_never_chosen_from_a_flagged_moment(api, uploader, flagged):
    video = flagged(duration=120)
    api.force_authenticate(uploader)
    response = api.post(f"/api/v1/videos/{video.uuid}/poster/", {"at": 12}, format="json")
    assert response.status_code == 400
    assert response.json()["at"] == ["0:00:10–0:00:20 is flagged for privacy: choose a moment outside it"]
