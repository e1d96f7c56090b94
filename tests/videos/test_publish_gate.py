"""
The publish gate (videos.services.review.register_publish_check): whatever an app registers
holds at every door that publishes — the API (409 naming the reasons), the review page, the
admin action, a resubmission and the end of a transcode when no approval is needed.
"""

import pytest
from django.contrib.admin.sites import site

from tests.factories import VideoFactory
from tests.signin import otp_client
from tests.videos_helpers import ready_video
from videos.models import Video
from videos.services import review

pytestmark = pytest.mark.django_db


@pytest.fixture
def blocked():
    """A check that blocks the videos titled 'Blocked', registered for one test."""

    def check(video):
        return ["the test says no"] if video.title == "Blocked" else []

    review.register_publish_check(check)
    yield check
    review._publish_checks.remove(check)


def test_api_publish_is_409_naming_the_reasons(api, approver, uploader, blocked):
    video = VideoFactory(uploader=uploader, title="Blocked", status="processed")
    api.force_authenticate(approver)
    response = api.post(f"/api/v1/videos/{video.uuid}/publish/")
    assert response.status_code == 409
    assert response.json()["detail"] == "This video cannot be published yet: the test says no"
    video.refresh_from_db()
    assert (video.status, video.published_at) == ("processed", None)
    other = VideoFactory(uploader=uploader, title="Fine", status="processed")
    assert api.post(f"/api/v1/videos/{other.uuid}/publish/").json()["status"] == "published"


def test_review_page_explains_and_keeps_the_status(client, approver, uploader, blocked):
    video = VideoFactory(uploader=uploader, title="Blocked", status="processed", duration=600)
    otp_client(approver, client)
    response = client.post(f"/videos/review/{video.uuid}/", {"action": "publish"}, follow=True)
    assert "This video cannot be published yet: the test says no" in response.content.decode()
    video.refresh_from_db()
    assert video.status == "processed"


def test_admin_action_is_refused(rf, approver, uploader, blocked):
    from django.contrib.messages.storage.fallback import FallbackStorage

    video = VideoFactory(uploader=uploader, title="Blocked", status="processed")
    request = rf.post("/admin/videos/video/")
    request.user = approver
    request.session = {}
    request._messages = FallbackStorage(request)
    site._registry[Video].publish(request, Video.objects.filter(pk=video.pk))
    assert [str(m) for m in request._messages] == [f"{video}: This video cannot be published yet: the test says no"]
    video.refresh_from_db()
    assert video.status == "processed"


def test_resubmission_without_approval_waits_for_an_approver(approver, uploader, settings, blocked):
    settings.VIDEOS_REQUIRE_APPROVAL = False
    video = VideoFactory(uploader=uploader, title="Blocked", status="processed", duration=600)
    review.video_reject(user=approver, video=video, reason="Title")
    video = review.video_resubmit(user=uploader, video=video)
    assert (video.status, video.published_at) == ("processed", None)


@pytest.mark.django_db(transaction=True)
def test_a_finished_transcode_without_approval_waits_too(
    api, uploader, media, settings, blocked, django_capture_on_commit_callbacks
):
    settings.VIDEOS_REQUIRE_APPROVAL = False
    video = ready_video(api, uploader, media.mp4(), django_capture_on_commit_callbacks, title="Blocked")
    assert (video.status, video.published_at, video.failure_reason) == ("processed", None, "")
    fine = ready_video(api, uploader, media.other_mp4(), django_capture_on_commit_callbacks, title="Fine")
    assert fine.status == "published"


# ------------------------------------------------------------------ PUBLISH_REQUIRED_FIELDS (issue #15)


def test_by_default_a_case_needs_a_category_a_surgeon_and_a_date(api, approver, uploader):
    """The default of PUBLISH_REQUIRED_FIELDS blocks at the API, naming what is missing."""
    from django.conf import settings

    assert settings.PUBLISH_REQUIRED_FIELDS == ["category", "surgeons", "date_of_surgery"]
    video = VideoFactory(uploader=uploader, status="processed", publishable=False)
    api.force_authenticate(approver)
    response = api.post(f"/api/v1/videos/{video.uuid}/publish/")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "This video cannot be published yet: it needs a category, at least one surgeon and the date of surgery"
    )
    video.refresh_from_db()
    assert video.status == "processed"


def test_the_gate_lifts_field_by_field(api, approver, uploader, editor):
    from tests.factories import CategoryFactory, SurgeonFactory

    video = VideoFactory(uploader=uploader, status="processed", publishable=False)
    api.force_authenticate(editor)
    category = CategoryFactory(name="Hepatobiliary")
    assert api.patch(f"/api/v1/videos/{video.uuid}/", {"category": category.name}, format="json").status_code == 200
    api.force_authenticate(approver)
    response = api.post(f"/api/v1/videos/{video.uuid}/publish/")
    assert response.json()["detail"].endswith("it needs at least one surgeon and the date of surgery")
    api.force_authenticate(editor)
    surgeon = SurgeonFactory(name="Dr Rao")
    payload = {"surgeons": [surgeon.pk], "date_of_surgery": "2026-10-02"}
    assert api.patch(f"/api/v1/videos/{video.uuid}/", payload, format="json").status_code == 200
    api.force_authenticate(approver)
    assert api.post(f"/api/v1/videos/{video.uuid}/publish/").json()["status"] == "published"


def test_review_page_says_what_is_missing_before_the_approver_tries(client, approver, uploader, settings):
    video = VideoFactory(uploader=uploader, status="processed", publishable=False, date_of_surgery="2026-10-02")
    otp_client(approver, client)
    html = client.get(f"/videos/review/{video.uuid}/").content.decode()
    blockers = html.split("data-publish-blockers>", 1)[1].split("</div>", 1)[0]
    assert "<li>It needs a category and at least one surgeon.</li>" in blockers
    response = client.post(f"/videos/review/{video.uuid}/", {"action": "publish"}, follow=True)
    assert "This video cannot be published yet: it needs a category and at least one surgeon" in (
        response.content.decode()
    )
    video.refresh_from_db()
    assert video.status == "processed"
    # A publishable case shows no such box.
    ready = VideoFactory(uploader=uploader, status="processed")
    assert "data-publish-blockers" not in client.get(f"/videos/review/{ready.uuid}/").content.decode()


@pytest.mark.parametrize(
    ("required", "blocked"),
    [([], False), (["tags"], True), (["description"], True), (["category"], True), (["date_of_surgery"], False)],
)
def test_the_setting_chooses_the_fields(api, approver, uploader, settings, required, blocked):
    settings.PUBLISH_REQUIRED_FIELDS = required
    video = VideoFactory(uploader=uploader, status="processed", publishable=False, date_of_surgery="2026-10-02")
    api.force_authenticate(approver)
    response = api.post(f"/api/v1/videos/{video.uuid}/publish/")
    assert response.status_code == (409 if blocked else 200), response.content


def test_the_admin_action_and_auto_publish_hold_it_too(rf, approver, uploader, settings):
    from django.contrib.messages.storage.fallback import FallbackStorage

    video = VideoFactory(uploader=uploader, status="processed", publishable=False)
    request = rf.post("/admin/videos/video/")
    request.user = approver
    request.session = {}
    request._messages = FallbackStorage(request)
    site._registry[Video].publish(request, Video.objects.filter(pk=video.pk))
    video.refresh_from_db()
    assert video.status == "processed"
    assert review.may_auto_publish(video) is False
    assert review.may_auto_publish(VideoFactory(uploader=uploader, status="processed")) is True


def test_an_unknown_field_name_stops_the_start(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_ENV="development",
        SECRET_KEY="s" * 60,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PUBLISH_REQUIRED_FIELDS="category,colour",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "PUBLISH_REQUIRED_FIELDS: unknown colour" in result.stderr
