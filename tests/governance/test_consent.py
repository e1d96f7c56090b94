"""
Consent (issue #17): recorded per video by its owner or an approver (audited), required to
publish with CONSENT_REQUIRED, and withdrawal takes the video down at once, voids its signed
URLs, lists it for deletion and can never be undone. Each rule is tried through every door.
"""

import pytest
from django.contrib.admin.sites import site
from django.contrib.messages.storage.fallback import FallbackStorage

from audit.models import AuditEvent
from governance.models import Consent, DeletionDue
from tests.factories import VideoFactory
from tests.signin import otp_client
from tests.videos.test_access_revocation import ALL_OK, handed_out, statuses
from tests.videos_helpers import upload
from videos.models import Video

pytestmark = pytest.mark.django_db


def url(video) -> str:
    return f"/api/v1/videos/{video.uuid}/consent/"


# ------------------------------------------------------------------------------ API


def test_owner_records_consent_and_it_is_audited(api, uploader):
    video = VideoFactory(uploader=uploader, status="processed")
    api.force_authenticate(uploader)
    assert api.get(url(video)).json() == {
        "status": None,
        "status_display": None,
        "purpose": "",
        "set_by": None,
        "set_at": None,
        "withdrawn_at": None,
        "required": False,
    }
    response = api.put(url(video), {"status": "obtained", "purpose": "teaching"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["purpose"], body["set_by"], body["withdrawn_at"]) == (
        "obtained",
        "teaching",
        "uma",
        None,
    )
    consent = Consent.objects.get(video=video)
    assert (consent.status, consent.purpose, consent.set_by) == ("obtained", "teaching", uploader)
    event = AuditEvent.objects.get(detail__governance="consent_set")
    assert (event.actor, event.detail["video"], event.detail["status"]) == (uploader, str(video.uuid), "obtained")


def test_approver_records_consent_others_are_refused(api, uploader, approver, viewer, make_user):
    video = VideoFactory(uploader=uploader, status="published")
    api.force_authenticate(approver)
    assert api.put(url(video), {"status": "not_required"}, format="json").status_code == 200
    # A viewer and another uploader see the published video but may not touch its consent.
    other = make_user("Viewer", "Uploader", username="otto")
    for user in (viewer, other):
        api.force_authenticate(user)
        assert api.get(url(video)).status_code == 403
        assert api.put(url(video), {"status": "withdrawn"}, format="json").status_code == 403
    # Someone who cannot see the video learns nothing: 404.
    hidden = VideoFactory(uploader=uploader, status="processed")
    assert api.get(url(hidden)).status_code == 404
    assert api.put(url(hidden), {"status": "obtained", "purpose": "research"}, format="json").status_code == 404
    api.force_authenticate(None)
    assert api.get(url(video)).status_code in (401, 403)
    assert Consent.objects.get(video=video).status == "not_required"
    assert not Consent.objects.filter(video=hidden).exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "maybe"}, "status"),
        ({"purpose": "teaching"}, "status"),
        ({"status": "obtained"}, "purpose"),
        ({"status": "obtained", "purpose": "marketing"}, "purpose"),
        ({"status": ["obtained"], "purpose": "teaching"}, "status"),
    ],
)
def test_bad_values_are_400_naming_the_field(api, uploader, body, field):
    video = VideoFactory(uploader=uploader, status="processed")
    api.force_authenticate(uploader)
    response = api.put(url(video), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["detail", field]
    assert not Consent.objects.exists()


# ------------------------------------------------------------------------------ the publish gate


def _admin_publish(approver, video):
    from django.test import RequestFactory

    request = RequestFactory().post("/admin/videos/video/")
    request.user, request.session = approver, {}
    request._messages = FallbackStorage(request)
    site._registry[Video].publish(request, Video.objects.filter(pk=video.pk))
    return [str(m) for m in request._messages]


def test_consent_required_blocks_publishing_until_recorded(api, client, uploader, approver, settings):
    settings.CONSENT_REQUIRED = True
    video = VideoFactory(uploader=uploader, status="processed")
    api.force_authenticate(approver)
    response = api.post(f"/api/v1/videos/{video.uuid}/publish/")
    assert (response.status_code, response.json()["detail"]) == (
        409,
        "This video cannot be published yet: consent not recorded",
    )
    assert _admin_publish(approver, video) == [f"{video}: This video cannot be published yet: consent not recorded"]
    otp_client(approver, client)
    page = client.post(f"/videos/review/{video.uuid}/", {"action": "publish"}, follow=True)
    assert "consent not recorded" in page.content.decode()
    video.refresh_from_db()
    assert video.status == "processed"
    assert api.put(url(video), {"status": "obtained", "purpose": "teaching"}, format="json").status_code == 200
    assert api.post(f"/api/v1/videos/{video.uuid}/publish/").json()["status"] == "published"


def test_without_the_setting_no_consent_is_needed(api, uploader, approver, settings):
    settings.CONSENT_REQUIRED = False
    video = VideoFactory(uploader=uploader, status="processed")
    api.force_authenticate(approver)
    assert api.post(f"/api/v1/videos/{video.uuid}/publish/").status_code == 200


# ------------------------------------------------------------------------------ withdrawal


@pytest.mark.slow
def test_withdrawal_unpublishes_at_once_voids_urls_and_lists_for_deletion(api, client, published, uploader, viewer):
    urls = handed_out(client, viewer, published)
    assert statuses(client, urls) == ALL_OK
    api.force_authenticate(uploader)  # the owner, not an approver
    response = api.put(url(published), {"status": "withdrawn"}, format="json")
    assert response.status_code == 200
    assert response.json()["withdrawn_at"] is not None
    published.refresh_from_db()
    assert published.status == "archived"
    assert statuses(client, urls) == {name: 401 for name in ALL_OK}
    due = DeletionDue.objects.get(video=published)
    assert (due.reason, due.confirmed_at) == ("consent_withdrawn", None)
    # Nothing is deleted until an Admin confirms.
    assert published.original_file.is_file() and published.hls_dir.is_dir()


def test_withdrawn_consent_can_never_be_published_or_undone(api, client, uploader, approver, settings):
    settings.CONSENT_REQUIRED = False
    video = VideoFactory(uploader=uploader, status="published")
    api.force_authenticate(approver)
    assert api.put(url(video), {"status": "withdrawn"}, format="json").status_code == 200
    video.refresh_from_db()
    assert video.status == "archived"
    response = api.post(f"/api/v1/videos/{video.uuid}/publish/")
    assert (response.status_code, response.json()["detail"]) == (
        409,
        "This video cannot be published yet: consent was withdrawn",
    )
    assert _admin_publish(approver, video) == [f"{video}: This video cannot be published yet: consent was withdrawn"]
    otp_client(approver, client)
    client.post(f"/videos/review/{video.uuid}/", {"action": "publish"})
    # Undoing the withdrawal is refused, through the API and the review page's form.
    response = api.put(url(video), {"status": "obtained", "purpose": "teaching"}, format="json")
    assert response.status_code == 400
    assert "cannot be undone" in response.json()["status"][0]
    page = client.post(f"/governance/videos/{video.uuid}/consent/", {"status": "obtained", "purpose": "teaching"})
    assert page.status_code == 302
    video.refresh_from_db()
    assert (video.status, Consent.objects.get(video=video).status) == ("archived", "withdrawn")


def test_withdrawal_of_a_video_awaiting_review_takes_it_out_of_the_queue(api, uploader):
    video = VideoFactory(uploader=uploader, status="processed")
    api.force_authenticate(uploader)
    api.put(url(video), {"status": "withdrawn"}, format="json")
    video.refresh_from_db()
    assert video.status == "archived"
    assert DeletionDue.objects.filter(video=video, reason="consent_withdrawn").exists()


# ------------------------------------------------------------------------------ at upload, on the review page


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_upload_carries_consent_and_auto_publish_waits_for_it(
    api, uploader, media, settings, django_capture_on_commit_callbacks
):
    settings.CONSENT_REQUIRED = True
    settings.VIDEOS_REQUIRE_APPROVAL = False
    api.force_authenticate(uploader)
    response = upload(
        api,
        media.mp4(),
        capture=django_capture_on_commit_callbacks,
        title="With consent",
        consent_status="obtained",
        consent_purpose="research",
    )
    assert response.status_code == 201, response.content
    video = Video.objects.get(uuid=response.json()["id"])
    assert video.status == "published"
    consent = Consent.objects.get(video=video)
    assert (consent.status, consent.purpose, consent.set_by) == ("obtained", "research", uploader)


def test_upload_with_bad_consent_is_400_and_stores_nothing(api, uploader, media, settings):
    api.force_authenticate(uploader)
    response = upload(api, media.mp4(), title="Bad", consent_status="obtained", consent_purpose="marketing")
    assert response.status_code == 400
    assert list(response.json()) == ["detail", "consent_purpose"]
    response = upload(api, media.mp4(), title="Bad", consent_status="withdrawn")
    assert response.status_code == 400
    assert list(response.json()) == ["detail", "consent_status"]
    assert not Video.objects.exists()
    originals = settings.MEDIA_ROOT / "originals"
    assert not originals.exists() or not any(originals.iterdir())


def test_review_page_shows_and_records_consent(client, approver, uploader):
    video = VideoFactory(uploader=uploader, status="processed", duration=600)
    otp_client(approver, client)
    page = client.get(f"/videos/review/{video.uuid}/").content.decode()
    assert "Consent and retention" in page and "Not recorded" in page
    response = client.post(
        f"/governance/videos/{video.uuid}/consent/", {"status": "obtained", "purpose": "clinical_record"}, follow=True
    )
    assert "Consent recorded: Obtained (clinical record)." in response.content.decode()
    assert Consent.objects.get(video=video).set_by == approver
    # A bad value comes back as a message, nothing stored.
    other = VideoFactory(uploader=uploader, status="processed", duration=600)
    response = client.post(f"/governance/videos/{other.uuid}/consent/", {"status": "obtained"}, follow=True)
    assert "Say what the consent covers" in response.content.decode()
    assert not Consent.objects.filter(video=other).exists()


def test_the_review_page_forms_refuse_those_without_the_right(client, viewer, uploader, make_user):
    video = VideoFactory(uploader=uploader, status="published")
    client.force_login(viewer)
    assert client.post(f"/governance/videos/{video.uuid}/consent/", {"status": "withdrawn"}).status_code == 403
    assert client.post(f"/governance/videos/{video.uuid}/legal-hold/", {"reason": "x"}).status_code == 403
    hidden = VideoFactory(uploader=uploader, status="processed")
    assert client.post(f"/governance/videos/{hidden.uuid}/consent/", {"status": "withdrawn"}).status_code == 404
    assert client.get(f"/governance/videos/{video.uuid}/consent/").status_code == 405
    video.refresh_from_db()
    assert video.status == "published"
    assert not Consent.objects.exists()
