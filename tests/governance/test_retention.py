"""
Retention and legal hold (issue #17): the daily job lists what is past its category's
retention (or whose consent was withdrawn); only an Admin's confirmation deletes, with every
file and the keys; nothing under legal hold is ever deleted — tried through every door: the
API, the admin's delete pages and bulk action, the owner, the confirmation, and the job after
a confirmation given before the hold.
"""

from datetime import timedelta

import pytest
from django_q.models import Schedule

from audit.models import AuditEvent
from governance import services
from governance.models import DeletionDue, LegalHold, RetentionPolicy
from tests.factories import CategoryFactory, LadderVideoFactory, VideoFactory
from tests.signin import otp_client
from videos.models import Video

pytestmark = pytest.mark.django_db

YEAR = timedelta(days=365)


def ago(delta):
    from django.utils import timezone

    return timezone.now() - delta


def files_of(video):
    return [video.original_file, video.hls_dir / "360p" / "seg_00000.ts", video.hls_dir / "poster.jpg"]


@pytest.fixture
def held(approver, admin_user):
    """A published video with its ladder and original on disk, under legal hold."""
    video = LadderVideoFactory(uploader=admin_user)
    services.legal_hold_set(user=approver, video=video, reason="Inquiry 2026/14")
    return video


# ------------------------------------------------------------------------------ legal hold


def test_legal_hold_api_needs_a_reason_and_the_right(api, approver, uploader, viewer):
    video = VideoFactory(uploader=uploader)
    hold_url = f"/api/v1/videos/{video.uuid}/legal-hold/"
    for user in (viewer, uploader):  # both see the published video; neither may hold it
        api.force_authenticate(user)
        assert api.put(hold_url, {"reason": "x"}, format="json").status_code == 403
    hidden = VideoFactory(uploader=uploader, status="processed")
    api.force_authenticate(viewer)
    assert api.get(f"/api/v1/videos/{hidden.uuid}/legal-hold/").status_code == 404
    api.force_authenticate(approver)
    response = api.put(hold_url, {"reason": "  "}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["detail", "reason"])
    assert not LegalHold.objects.exists()
    response = api.put(hold_url, {"reason": "Claim 77"}, format="json")
    assert response.status_code == 200
    assert (response.json()["held"], response.json()["reason"], response.json()["set_by"]) == (True, "Claim 77", "appy")
    event = AuditEvent.objects.get(detail__governance="legal_hold_set")
    assert (event.actor, event.detail["video"], event.detail["reason"]) == (approver, str(video.uuid), "Claim 77")
    # Releasing needs a reason too, and is audited.
    assert api.delete(hold_url, {}, format="json").status_code == 400
    assert api.delete(hold_url, {"reason": "Claim settled"}, format="json").json()["held"] is False
    assert AuditEvent.objects.filter(detail__governance="legal_hold_release", detail__reason="Claim settled").exists()


def test_api_delete_under_hold_is_409_and_keeps_every_file(api, admin_user, held):
    api.force_authenticate(admin_user)
    response = api.delete(f"/api/v1/videos/{held.uuid}/")
    assert (response.status_code, response.json()) == (
        409,
        {"detail": "This video cannot be deleted: it is under legal hold", "code": "delete_blocked"},
    )
    assert Video.objects.filter(pk=held.pk).exists()
    assert all(path.is_file() for path in files_of(held))
    assert not AuditEvent.objects.filter(event="video_delete").exists()


def test_owner_cannot_delete_their_own_unpublished_video_under_hold(api, uploader, approver):
    video = LadderVideoFactory(uploader=uploader, status="processed")
    services.legal_hold_set(user=approver, video=video, reason="Complaint")
    api.force_authenticate(uploader)
    assert api.delete(f"/api/v1/videos/{video.uuid}/").status_code == 409
    assert Video.objects.filter(pk=video.pk).exists()


def test_admin_delete_pages_and_bulk_action_refuse_a_held_video(
    client, admin_user, held, django_capture_on_commit_callbacks
):
    otp_client(admin_user, client)
    assert client.get(f"/admin/videos/video/{held.pk}/delete/").status_code == 403
    assert client.post(f"/admin/videos/video/{held.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(
        "/admin/videos/video/", {"action": "delete_selected", "_selected_action": [held.pk], "post": "yes"}
    )
    assert response.status_code == 403
    assert Video.objects.filter(pk=held.pk).exists()
    assert all(path.is_file() for path in files_of(held))
    # Released, the same admin deletes it (files and keys gone with the row).
    services.legal_hold_release(user=admin_user, video=held, reason="Inquiry closed")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/videos/video/{held.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Video.objects.filter(pk=held.pk).exists()
    assert not any(path.exists() for path in files_of(held))


# ------------------------------------------------------------------------------ the daily job


def test_the_job_lists_what_is_due_and_nothing_else(approver):
    surgery, teaching = CategoryFactory(name="Surgery"), CategoryFactory(name="Teaching")
    RetentionPolicy.objects.create(category=surgery, keep_years=2)
    old = VideoFactory(category=surgery, published_at=ago(2 * YEAR + timedelta(days=2)))
    recent = VideoFactory(category=surgery, published_at=ago(YEAR))
    never_published = VideoFactory(category=surgery, status="processed", processed_at=ago(3 * YEAR))
    no_policy = VideoFactory(category=teaching, published_at=ago(10 * YEAR))
    held_old = VideoFactory(category=surgery, published_at=ago(5 * YEAR))
    services.legal_hold_set(user=approver, video=held_old, reason="Litigation")
    assert services.retention_scan() == {"listed": 2, "deleted": 0, "blocked": 0}
    assert set(DeletionDue.objects.values_list("video_id", "reason")) == {
        (old.pk, "retention"),
        (never_published.pk, "retention"),
    }
    assert services.retention_scan()["listed"] == 0  # listed once
    assert Video.objects.filter(pk__in=[old.pk, recent.pk, never_published.pk, no_policy.pk, held_old.pk]).count() == 5


def test_the_jobs_are_scheduled_daily():
    assert set(Schedule.objects.filter(name__startswith="governance:").values_list("func", "schedule_type")) == {
        ("governance.tasks.retention_scan", "D"),
        ("governance.tasks.originals_purge", "D"),
    }


def _confirm(client, due):
    """The admin action's two steps: the page saying what will go, then "Yes, delete them"."""
    data = {"action": "confirm", "_selected_action": [due.pk]}
    first = client.post("/admin/governance/deletiondue/", data)
    if first.status_code != 200:
        return first
    assert "Delete these videos for good?" in first.content.decode()
    assert DeletionDue.objects.get(pk=due.pk).confirmed_at is None  # nothing confirmed yet
    return client.post("/admin/governance/deletiondue/", {**data, "post": "yes"}, follow=True)


@pytest.mark.django_db(transaction=True)
def test_admin_confirmation_deletes_files_and_keys(client, admin_user):
    category = CategoryFactory(name="Surgery")
    RetentionPolicy.objects.create(category=category, keep_years=1)
    video = LadderVideoFactory(category=category, published_at=ago(2 * YEAR))
    services.retention_scan()
    due = DeletionDue.objects.get(video=video)
    assert all(path.is_file() for path in files_of(video))  # listed, not deleted
    otp_client(admin_user, client)
    response = _confirm(client, due)
    assert "1 deletion(s) confirmed" in response.content.decode()
    assert not Video.objects.filter(pk=video.pk).exists()  # the row, and the AES key in it
    assert not any(path.exists() for path in files_of(video))
    assert not video.hls_dir.exists()
    assert AuditEvent.objects.filter(detail__governance="deletion_confirmed", actor=admin_user).exists()
    assert AuditEvent.objects.get(event="video_delete").actor == admin_user


def test_only_admins_confirm(client, approver, admin_user):
    video = VideoFactory()
    due = DeletionDue.objects.create(video=video, reason="retention", due_since=ago(YEAR))
    otp_client(approver, client)
    assert client.get("/admin/governance/deletiondue/").status_code == 403
    assert _confirm(client, due).status_code == 403
    with pytest.raises(services.PermissionDenied):
        services.deletion_confirm(user=approver, dues=[due])
    due.refresh_from_db()
    assert due.confirmed_at is None
    assert Video.objects.filter(pk=video.pk).exists()


def test_confirming_a_held_video_is_refused(client, admin_user, held):
    due = DeletionDue.objects.create(video=held, reason="consent_withdrawn", due_since=ago(YEAR))
    otp_client(admin_user, client)
    response = _confirm(client, due)
    assert f"{due}: “{held}” cannot be deleted: it is under legal hold." in response.content.decode()
    due.refresh_from_db()
    assert due.confirmed_at is None
    assert all(path.is_file() for path in files_of(held))


def test_a_hold_set_after_the_confirmation_still_wins(admin_user, approver, django_capture_on_commit_callbacks):
    video = LadderVideoFactory()
    due = DeletionDue.objects.create(video=video, reason="retention", due_since=ago(YEAR))
    with django_capture_on_commit_callbacks(execute=False):  # the deletion task has not run yet
        services.deletion_confirm(user=admin_user, dues=[due])
    services.legal_hold_set(user=approver, video=video, reason="Late claim")
    # The queued task, and the daily job, both meet the hold.
    assert services.deletion_run(due_id=due.pk) is False
    assert services.retention_scan() == {"listed": 0, "deleted": 0, "blocked": 1}
    due.refresh_from_db()
    assert due.blocked == "This video cannot be deleted: it is under legal hold"
    assert Video.objects.filter(pk=video.pk).exists()
    assert all(path.is_file() for path in files_of(video))
    assert AuditEvent.objects.filter(detail__governance="deletion_blocked").count() == 1  # not once a day
    # Released: the next run deletes it, as the Admin who confirmed.
    services.legal_hold_release(user=approver, video=video, reason="Claim withdrawn")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.retention_scan() == {"listed": 0, "deleted": 1, "blocked": 0}
    assert not Video.objects.filter(pk=video.pk).exists()
    assert not any(path.exists() for path in files_of(video))
    assert AuditEvent.objects.get(event="video_delete").actor == admin_user


def test_withdrawn_consent_is_deleted_only_after_confirmation(api, admin_user, uploader):
    video = LadderVideoFactory(uploader=uploader)
    api.force_authenticate(uploader)
    api.put(f"/api/v1/videos/{video.uuid}/consent/", {"status": "withdrawn"}, format="json")
    assert services.retention_scan() == {"listed": 0, "deleted": 0, "blocked": 0}
    assert Video.objects.filter(pk=video.pk).exists()
    due = DeletionDue.objects.get(video=video)
    services.deletion_confirm(user=admin_user, dues=[due])
    assert services.deletion_run(due_id=due.pk) is True
    assert not Video.objects.filter(pk=video.pk).exists()
