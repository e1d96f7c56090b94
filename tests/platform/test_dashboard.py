"""Staff dashboard in admin: the numbers, the charts, who sees what, constant queries, caching."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ

from accounts import roles
from library.models import Favorite, ViewEvent
from tests.factories import FavoriteFactory, VideoFactory, ViewEventFactory
from videos.models import Video

pytestmark = pytest.mark.django_db
URL = "/admin/dashboard/"
STATS_TABLES = ("videos_video", "library_viewevent", "library_favorite", "django_q_ormq", "axes_accessattempt")


def make_videos(uploader, count, *, start=0, bulk=False, status="published", views=None):
    """``count`` videos "Case {n}" of 1000 + n bytes, one an hour back from now (``bulk``: one INSERT per 500)."""
    now = timezone.now()
    fields = [
        {
            "title": f"Case {n}",
            "uploader": uploader,
            "size_bytes": 1000 + n,
            "status": status,
            "views": n % 7 if views is None else views,
            "created_at": now - timedelta(hours=n % (90 * 24)),
        }
        for n in range(start, start + count)
    ]
    if bulk:
        return Video.objects.bulk_create((VideoFactory.build(**video) for video in fields), batch_size=500)
    return [VideoFactory(**video) for video in fields]


def stats_of(queries) -> list[str]:
    """The queries (captured by ``django_assert_num_queries``) that compute statistics."""
    sql = [query["sql"] for query in queries.captured_queries]
    return [s for s in sql if any(table in s for table in STATS_TABLES) or _is_user_count(s)]


def _is_user_count(sql):
    return 'FROM "accounts_user"' in sql and "COUNT(" in sql


def test_numbers_for_an_admin(staff_client, admin_user, make_user, viewer):
    make_user(roles.VIEWER, username="waiting", approval_status="pending", is_active=False)
    make_user(roles.VIEWER, username="locked", locked_until=timezone.now() + timedelta(hours=3))
    make_user(roles.VIEWER, username="gone", is_active=False)
    published = make_videos(admin_user, 3, views=0)
    failed = VideoFactory(
        title="Broken upload",
        uploader=admin_user,
        size_bytes=5000,
        status="failed",
        failure_reason="ffprobe found no video stream",
    )
    Video.objects.filter(pk=published[0].pk).update(views=12)
    Video.objects.filter(pk=published[1].pk).update(views=3)
    FavoriteFactory(user=viewer, video=published[1])
    FavoriteFactory(user=admin_user, video=published[1])
    FavoriteFactory(user=viewer, video=published[2])
    today = timezone.now()
    for _ in range(4):
        ViewEventFactory(user=viewer, video=published[0], started_at=today)
    ViewEventFactory(user=viewer, video=published[0], started_at=today - timedelta(days=20))

    response = staff_client.get(URL)
    assert response.status_code == 200
    stats = response.context["stats"]
    # ada (admin), vera (viewer) and the three made here.
    assert stats["users"] == {"total": 5, "active": 3, "pending": 1, "locked": 1, "locked_out": 0}
    counts = {row["status"]: row["count"] for row in stats["videos"]}
    assert counts == {
        "pending": 0,
        "processing": 0,
        "processed": 0,
        "published": 3,
        "rejected": 0,
        "archived": 0,
        "failed": 1,
    }
    assert stats["storage_bytes"] == 1000 + 1001 + 1002 + 5000
    assert [(v["title"], v["views"]) for v in stats["top_viewed"]] == [("Case 0", 12), ("Case 1", 3)]
    assert [(f["video__title"], f["count"]) for f in stats["top_favourited"]] == [("Case 1", 2), ("Case 2", 1)]
    assert [(f["title"], f["failure_reason"]) for f in stats["failed"]] == [
        ("Broken upload", "ffprobe found no video stream")
    ]

    html = response.content.decode()
    assert "Awaiting approval" in html
    assert f'href="/admin/videos/video/{published[0].pk}/change/"' in html
    assert f'href="/admin/videos/video/{failed.pk}/change/"' in html
    assert "ffprobe found no video stream" in html
    assert f'href="/admin/audit/videos/{published[0].uuid}/viewers/"' in html
    assert "7.8\xa0KB" in html or "7.8 KB" in html  # storage, human readable


def test_charts_are_accessible_inline_svg_without_inline_styles(staff_client, admin_user, viewer):
    [video] = make_videos(admin_user, 1)
    for _ in range(3):
        ViewEventFactory(user=viewer, video=video, started_at=timezone.now())
    response = staff_client.get(URL)
    charts = {chart["id"]: chart for chart in response.context["charts"]}
    assert set(charts) == {"chart-uploads-14", "chart-uploads-90", "chart-views-14", "chart-views-90"}
    views14 = charts["chart-views-14"]
    assert len(views14["bars"]) == 14 and len(charts["chart-views-90"]["bars"]) == 90
    assert views14["bars"][-1]["value"] == 3 and views14["bars"][-1]["day"] == timezone.localdate()
    assert views14["bars"][-1]["height"] > 0 and views14["bars"][0]["height"] == 0
    assert charts["chart-uploads-14"]["total"] == 1

    html = response.content.decode()
    assert html.count('<svg class="svl-chart-svg"') == 4
    assert '<title id="chart-views-14-title">Views per day, last 14 days</title>' in html
    assert 'aria-labelledby="chart-views-14-title chart-views-14-desc"' in html
    assert '<desc id="chart-views-14-desc">3 in total' in html
    # The numbers are in a table for screen readers too.
    assert f'<th scope="row">{timezone.localdate():%Y-%m-%d}</th><td>3</td>' in html
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


@pytest.mark.parametrize("role", [roles.EDITOR, roles.APPROVER])
def test_editors_and_approvers_see_video_panels_but_not_users(client, make_staff, role):
    user = make_staff(role, client, username="staffer")
    make_videos(user, 2)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Awaiting approval" not in html and 'id="users-heading"' not in html
    assert 'id="videos-heading"' in html and "Case 1" in html
    # The viewer audit is the Admin's: no link to it.
    assert "/admin/audit/videos/" not in html


def test_viewers_and_anonymous_cannot_open_it(client, viewer):
    assert client.get(URL).status_code == 302
    client.force_login(viewer)
    response = client.get(URL, follow=True)
    assert response.status_code == 403


def test_admin_index_links_to_the_dashboard(staff_client):
    html = staff_client.get("/admin/").content.decode()
    assert 'href="/admin/dashboard/"' in html


@pytest.mark.skipif(not Conf.ORM, reason="queue length of the ORM broker")
def test_queue_length_counts_waiting_jobs(staff_client):
    now = timezone.now()
    OrmQ.objects.create(key=Conf.CLUSTER_NAME, payload="waiting", lock=now - timedelta(seconds=5))
    OrmQ.objects.create(key=Conf.CLUSTER_NAME, payload="waiting too", lock=now - timedelta(seconds=1))
    OrmQ.objects.create(key=Conf.CLUSTER_NAME, payload="taken by a worker", lock=now + timedelta(hours=1))
    stats = staff_client.get(URL).context["stats"]
    assert stats["queue_length"] == 2
    assert stats["worker_alive"] is False


def _populate(admin_user, viewer, count, start):
    videos = make_videos(admin_user, count, start=start, bulk=True)
    ViewEvent.objects.bulk_create(
        ViewEventFactory.build(user=viewer, video=v, started_at=v.created_at) for v in videos[:50]
    )
    Favorite.objects.bulk_create(FavoriteFactory.build(user=viewer, video=v) for v in videos[:20])


DASHBOARD_QUERIES = 16  # the whole page, statistics computed
STATS_QUERIES = 9  # of which compute statistics


def test_constant_number_of_queries_at_10_200_and_10000_videos(
    staff_client, admin_user, viewer, django_assert_num_queries
):
    _populate(admin_user, viewer, 10, start=0)
    with django_assert_num_queries(DASHBOARD_QUERIES) as at_10:
        assert staff_client.get(URL).status_code == 200

    _populate(admin_user, viewer, 190, start=10)
    cache.clear()
    with django_assert_num_queries(DASHBOARD_QUERIES) as at_200:
        assert staff_client.get(URL).status_code == 200

    _populate(admin_user, viewer, 9800, start=200)
    assert Video.objects.count() == 10_000
    cache.clear()
    with django_assert_num_queries(DASHBOARD_QUERIES) as at_10000:
        assert staff_client.get(URL).status_code == 200

    assert len(stats_of(at_10)) == len(stats_of(at_200)) == len(stats_of(at_10000)) == STATS_QUERIES


def test_statistics_come_from_the_cache_for_a_while(staff_client, admin_user, settings, django_assert_num_queries):
    settings.DASHBOARD_CACHE_SECONDS = 60
    make_videos(admin_user, 2)
    with django_assert_num_queries(DASHBOARD_QUERIES) as first:
        assert staff_client.get(URL).status_code == 200
    assert len(stats_of(first)) == STATS_QUERIES
    VideoFactory(title="Arrived later", uploader=admin_user, size_bytes=1, status="failed")

    with django_assert_num_queries(DASHBOARD_QUERIES - STATS_QUERIES) as second:
        assert staff_client.get(URL).status_code == 200
    assert stats_of(second) == []
    assert "Arrived later" not in staff_client.get(URL).content.decode()

    cache.clear()  # as when DASHBOARD_CACHE_SECONDS have passed
    assert "Arrived later" in staff_client.get(URL).content.decode()
