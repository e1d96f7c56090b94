"""Audit pages in admin: one person's activity, who watched a video (with CSV), and the ViewEvent admin."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import roles
from audit.models import AuditEvent
from library.models import ViewEvent
from tests.factories import AuditEventFactory, VideoFactory, ViewEventFactory
from videos.models import Video

pytestmark = pytest.mark.django_db
Event = AuditEvent.Event


def activity_url(user):
    return f"/admin/audit/users/{user.pk}/"


def viewers_url(video):
    return f"/admin/audit/videos/{video.uuid}/viewers/"


@pytest.fixture
def subject(make_user):
    return make_user(roles.VIEWER, roles.UPLOADER, username="sam", full_name="Sam Surgeon")


@pytest.fixture
def video(subject):
    return VideoFactory(title="Laparoscopic cholecystectomy", uploader=subject, size_bytes=2048, status="pending")


def at(days_ago: int):
    return timezone.now() - timedelta(days=days_ago)


def test_user_activity_shows_sign_ins_uploads_views_and_other_events(staff_client, admin_user, subject, video):
    AuditEventFactory(
        event=Event.LOGIN_SUCCESS, actor=subject, target_user=subject, ip_address="10.1.2.3", user_agent="Firefox/140"
    )
    AuditEventFactory(event=Event.LOGIN_FAILURE, target_user=subject, username="sam", ip_address="10.9.9.9")
    AuditEventFactory(event=Event.ROLE_CHANGE, actor=admin_user, target_user=subject, detail={"added": ["Uploader"]})
    AuditEventFactory(event=Event.LOGIN_SUCCESS, actor=admin_user, target_user=admin_user)  # someone else
    ViewEventFactory(user=subject, video=video, seconds_watched=3725, ip_address="10.4.4.4")

    response = staff_client.get(activity_url(subject))
    assert response.status_code == 200
    context = response.context
    assert [e.event for e in context["sign_ins"]] == [Event.LOGIN_FAILURE, Event.LOGIN_SUCCESS]
    assert [e.event for e in context["other_events"]] == [Event.ROLE_CHANGE]
    assert [v.title for v in context["uploads"]] == ["Laparoscopic cholecystectomy"]
    assert [(v.video.title, v.watched) for v in context["views"]] == [("Laparoscopic cholecystectomy", "1:02:05")]
    assert context["view_totals"]["sessions"] == 1

    html = response.content.decode()
    for text in ["10.1.2.3", "10.9.9.9", "Firefox/140", "Roles changed", "added=[&#x27;Uploader&#x27;]", "10.4.4.4"]:
        assert text in html, text
    assert f'href="{viewers_url(video)}"' in html
    assert f'href="/admin/videos/video/{video.pk}/change/"' in html
    assert "style=" not in html


def test_user_activity_date_range(staff_client, subject, video):
    for days in (1, 10, 40):
        AuditEventFactory(event=Event.LOGIN_SUCCESS, actor=subject, target_user=subject, created_at=at(days))
        ViewEventFactory(user=subject, video=video, started_at=at(days), seconds_watched=days)
    start, end = timezone.localdate(at(15)), timezone.localdate(at(5))
    response = staff_client.get(activity_url(subject), {"date_from": start.isoformat(), "date_to": end.isoformat()})
    assert len(response.context["sign_ins"]) == 1
    assert [v.seconds_watched for v in response.context["views"]] == [10]
    assert response.context["uploads"].paginator.count == 0  # uploaded today, outside the range

    backwards = staff_client.get(activity_url(subject), {"date_from": end.isoformat(), "date_to": start.isoformat()})
    assert backwards.status_code == 200
    assert "must not be after" in backwards.content.decode()
    assert len(backwards.context["sign_ins"]) == 3  # an invalid range filters nothing


def test_user_activity_is_paginated_per_section_with_constant_queries(
    staff_client, subject, video, django_assert_num_queries
):
    AuditEvent.objects.bulk_create(
        AuditEventFactory.build(event=Event.LOGIN_SUCCESS, actor=subject, target_user=subject, created_at=at(n % 20))
        for n in range(30)
    )
    ViewEvent.objects.bulk_create(
        ViewEventFactory.build(user=subject, video=video, started_at=at(n % 20)) for n in range(30)
    )
    with django_assert_num_queries(17):
        first = staff_client.get(activity_url(subject), {"date_from": timezone.localdate(at(60)).isoformat()})
    assert len(first.context["sign_ins"]) == 25 and len(first.context["views"]) == 25
    html = first.content.decode()
    assert "Page 1 of 2 (30 in all)" in html
    next_link = first.context["sign_ins"].next_url
    assert "signins_page=2" in next_link and "date_from=" in next_link

    second = staff_client.get(activity_url(subject) + next_link)
    assert len(second.context["sign_ins"]) == 5
    assert len(second.context["views"]) == 25  # the other sections stay on their first page

    ViewEvent.objects.bulk_create(ViewEventFactory.build(user=subject, video=video) for n in range(100))
    with django_assert_num_queries(17):
        staff_client.get(activity_url(subject))


def test_video_viewers_lists_sessions_with_totals(staff_client, make_user, video):
    ann = make_user(roles.VIEWER, username="ann", full_name="Ann Anaesthetist")
    bob = make_user(roles.VIEWER, username="bob")
    ViewEventFactory(user=ann, video=video, started_at=at(2), seconds_watched=600, ip_address="10.0.0.1")
    ViewEventFactory(user=ann, video=video, started_at=at(1), seconds_watched=60, ip_address="10.0.0.2")
    ViewEventFactory(user=bob, video=video, started_at=at(1), seconds_watched=90.4, ip_address="10.0.0.3")
    other = VideoFactory(title="Other", uploader=bob, size_bytes=1, status="pending")
    ViewEventFactory(user=bob, video=other, seconds_watched=5)

    response = staff_client.get(viewers_url(video))
    assert response.status_code == 200
    totals = response.context["totals"]
    assert (totals["sessions"], totals["viewers"], totals["watched"]) == (3, 2, "0:12:30")
    rows = [(e.user.username, e.ip_address) for e in response.context["page"]]
    assert sorted(rows) == [("ann", "10.0.0.1"), ("ann", "10.0.0.2"), ("bob", "10.0.0.3")]
    html = response.content.decode()
    assert f'href="{activity_url(ann)}"' in html
    assert "Ann Anaesthetist" in html and "0:10:00" in html
    assert "style=" not in html


def test_video_viewers_csv_is_formula_safe_and_follows_the_filter(staff_client, make_user, video):
    mallory = make_user(roles.VIEWER, username="mallory", full_name='=HYPERLINK("http://evil.example","x")')
    ViewEventFactory(user=mallory, video=video, started_at=at(1), seconds_watched=42, ip_address="10.7.7.7")
    ViewEventFactory(user=mallory, video=video, started_at=at(30), seconds_watched=1)
    Video.objects.filter(pk=video.pk).update(title="+SUM(A1:A9)")

    response = staff_client.get(
        viewers_url(video), {"export": "csv", "date_from": timezone.localdate(at(7)).isoformat()}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith(f'attachment; filename="viewers-{video.uuid}-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "started",
        "last_seen",
        "username",
        "full_name",
        "video_uuid",
        "video_title",
        "seconds_watched",
        "ip_address",
    ]
    assert len(rows) == 2  # the session 30 days ago is outside the range
    row = dict(zip(rows[0], rows[1]))
    assert row["full_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["video_title"] == "'+SUM(A1:A9)"
    assert (row["username"], row["seconds_watched"], row["ip_address"]) == ("mallory", "42.0", "10.7.7.7")


def test_unknown_video_or_user_is_404(staff_client):
    assert staff_client.get("/admin/audit/videos/00000000-0000-0000-0000-000000000000/viewers/").status_code == 404
    assert staff_client.get("/admin/audit/users/999999/").status_code == 404


@pytest.mark.parametrize("role", [roles.EDITOR, roles.APPROVER])
def test_staff_without_audit_permission_get_403(client, make_staff, subject, video, role):
    make_staff(role, client, username="staffer")
    assert client.get("/admin/").status_code == 200  # they are in admin ...
    assert client.get(activity_url(subject)).status_code == 403  # ... but not in the audit pages
    assert client.get(viewers_url(video)).status_code == 403
    assert client.get(viewers_url(video), {"export": "csv"}).status_code == 403
    assert client.get("/admin/library/viewevent/").status_code == 403


def test_viewers_and_anonymous_are_kept_out(client, viewer, subject, video):
    assert client.get(activity_url(subject)).status_code == 302
    client.force_login(viewer)
    assert client.get(viewers_url(video), follow=True).status_code == 403


def test_user_change_page_links_to_the_activity(staff_client, subject):
    html = staff_client.get(f"/admin/accounts/user/{subject.pk}/change/").content.decode()
    assert f'href="{activity_url(subject)}"' in html


def test_viewevent_admin_is_read_only_with_filters_and_csv(staff_client, subject, video, django_assert_num_queries):
    event = ViewEventFactory(user=subject, video=video, seconds_watched=75, ip_address="10.5.5.5")
    ViewEvent.objects.bulk_create(ViewEventFactory.build(user=subject, video=video) for _ in range(20))
    with django_assert_num_queries(14):
        listing = staff_client.get("/admin/library/viewevent/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert f'href="{activity_url(subject)}"' in html and f'href="{viewers_url(video)}"' in html
    assert "0:01:15" in html and "10.5.5.5" in html
    filtered = staff_client.get(
        "/admin/library/viewevent/", {"user__id__exact": subject.pk, "video__id__exact": video.pk}
    )
    assert filtered.status_code == 200 and filtered.context["cl"].result_count == 21
    year = timezone.localdate().year
    assert staff_client.get("/admin/library/viewevent/", {"started_at__year": year}).status_code == 200

    assert staff_client.get("/admin/library/viewevent/add/").status_code == 403
    assert staff_client.post(f"/admin/library/viewevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert staff_client.post(f"/admin/library/viewevent/{event.pk}/change/", {"seconds_watched": 1}).status_code == 403
    assert ViewEvent.objects.get(pk=event.pk).seconds_watched == 75

    export = staff_client.post("/admin/library/viewevent/", {"action": "export_csv", "_selected_action": [event.pk]})
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(rows) == 2 and rows[1][2] == "sam" and rows[1][-1] == "10.5.5.5"
