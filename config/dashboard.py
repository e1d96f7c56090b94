"""
The staff dashboard in admin (``admin:dashboard``): users, videos, storage, activity per
day, the most watched and favourited videos, failed jobs and the job queue.

Every number comes from one aggregate query per panel, so the page costs the same handful
of queries at ten videos or ten thousand, and the whole result is kept in the shared cache
for ``DASHBOARD_CACHE_SECONDS``. Charts are inline SVG drawn on the server (no script; the
CSP forbids inline styles, so only SVG presentation attributes and classes are used).
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.template.response import TemplateResponse
from django.utils import timezone

from . import health

CACHE_KEY = "admin-dashboard:v1"
# The longer chart; the shorter one is its tail, so both come from the same query.
CHART_DAYS = (14, 90)
TOP = 10


def dashboard_stats() -> dict:
    """The dashboard's numbers, from the shared cache when computed in the last few seconds."""
    stats = cache.get(CACHE_KEY)
    if stats is None:
        stats = compute_stats()
        cache.set(CACHE_KEY, stats, settings.DASHBOARD_CACHE_SECONDS)
    return stats


def compute_stats() -> dict:
    """Every panel, in a constant number of queries (one per panel)."""
    from accounts.models import User
    from library.models import Favorite, ViewEvent
    from videos.models import Video

    now = timezone.now()
    today = timezone.localdate(now)
    first_day = today - timedelta(days=max(CHART_DAYS) - 1)
    since = timezone.make_aware(datetime.combine(first_day, time.min))

    users = User.objects.aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(is_active=True, approval_status=User.Approval.APPROVED)),
        pending=Count("pk", filter=Q(approval_status=User.Approval.PENDING)),
        locked=Count("pk", filter=Q(locked_until__gt=now)),
    )
    users["locked_out"] = _locked_out_usernames(now)

    by_status = {
        row["status"]: row
        for row in Video.objects.order_by().values("status").annotate(count=Count("pk"), size=Sum("size_bytes"))
    }
    videos = [
        {"status": value, "label": label, "count": by_status.get(value, {}).get("count", 0)}
        for value, label in Video.Status.choices
    ]

    uploads = _per_day(Video.objects.filter(created_at__gte=since), "created_at")
    views = _per_day(ViewEvent.objects.filter(started_at__gte=since), "started_at")

    return {
        "generated_at": now,
        "first_day": first_day,
        "today": today,
        "users": users,
        "videos": videos,
        "videos_total": sum(row["count"] for row in videos),
        "storage_bytes": sum(row["size"] or 0 for row in by_status.values()),
        "uploads_per_day": uploads,
        "views_per_day": views,
        "top_viewed": list(
            Video.objects.filter(views__gt=0).order_by("-views", "pk").values("pk", "uuid", "title", "views")[:TOP]
        ),
        "top_favourited": list(
            Favorite.objects.order_by()
            .values("video_id", "video__uuid", "video__title")
            .annotate(count=Count("pk"))
            .order_by("-count", "video_id")[:TOP]
        ),
        "failed": list(
            Video.objects.filter(status=Video.Status.FAILED)
            .order_by("-updated_at", "-pk")
            .values("pk", "uuid", "title", "failure_reason", "updated_at")[:TOP]
        ),
        "queue_length": health.queue_length(),
        "worker_alive": health.worker_alive(),
    }


def _locked_out_usernames(now) -> int:
    """Usernames django-axes is refusing right now (too many failed sign-ins)."""
    from axes.models import AccessAttempt

    return (
        AccessAttempt.objects.filter(
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gte=now - settings.AXES_COOLOFF_TIME,
        )
        .exclude(username=None)
        .values("username")
        .distinct()
        .count()
    )


def _per_day(queryset, field: str) -> dict[date, int]:
    """Rows per local calendar day of ``field`` (days without rows are absent)."""
    rows = queryset.annotate(day=TruncDate(field)).order_by().values("day").annotate(count=Count("pk"))
    return {row["day"]: row["count"] for row in rows}


# ----------------------------------------------------------------------------- charts
_CHART_WIDTH = 600
_PLOT_TOP = 16
_PLOT_HEIGHT = 120
_LABEL_HEIGHT = 18


def bar_chart(counts: dict[date, int], *, last_day: date, days: int, title: str, slug: str) -> dict:
    """
    Geometry of a bar chart of ``counts`` over the ``days`` days ending ``last_day`` (one
    bar per day, zeros included), for ``admin/_bar_chart.html``.
    """
    series = [(day, counts.get(day, 0)) for day in (last_day - timedelta(days=n) for n in range(days - 1, -1, -1))]
    peak = max((value for _, value in series), default=0)
    slot = _CHART_WIDTH / days
    bars = []
    for index, (day, value) in enumerate(series):
        height = round(value / peak * _PLOT_HEIGHT, 1) if peak else 0
        bars.append(
            {
                "day": day,
                "value": value,
                "x": round(index * slot + slot * 0.1, 1),
                "y": round(_PLOT_TOP + _PLOT_HEIGHT - height, 1),
                "width": round(slot * 0.8, 1),
                "height": height,
            }
        )
    total = sum(value for _, value in series)
    busiest = max(series, key=lambda item: item[1]) if peak else None
    description = f"{total} in total from {series[0][0]:%d %b %Y} to {series[-1][0]:%d %b %Y}"
    if busiest:
        description += f"; most on {busiest[0]:%d %b %Y} ({busiest[1]})."
    else:
        description += "."
    baseline = _PLOT_TOP + _PLOT_HEIGHT
    return {
        "id": f"chart-{slug}-{days}",
        "title": title,
        "description": description,
        "bars": bars,
        "peak": peak,
        "total": total,
        "width": _CHART_WIDTH,
        "height": baseline + _LABEL_HEIGHT,
        "baseline": baseline,
        "label_y": baseline + _LABEL_HEIGHT - 4,
        "first_day": series[0][0],
        "last_day": series[-1][0],
    }


# ----------------------------------------------------------------------------- view
def dashboard_view(request):
    """Open to every admin-site role; user numbers only for those who may see users."""
    stats = dashboard_stats()
    charts = []
    for name, key in (("Uploads", "uploads_per_day"), ("Views", "views_per_day")):
        for days in CHART_DAYS:
            charts.append(
                bar_chart(
                    stats[key],
                    last_day=stats["today"],
                    days=days,
                    title=f"{name} per day, last {days} days",
                    slug=name.lower(),
                )
            )
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "stats": stats,
        "charts": charts,
        "show_users": request.user.has_perm("accounts.view_user"),
        "show_audit": request.user.has_perm("audit.view_auditevent"),
        "cache_seconds": settings.DASHBOARD_CACHE_SECONDS,
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
