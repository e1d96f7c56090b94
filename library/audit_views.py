"""
Who watched one video, in admin (``admin:video_viewers``), for those who may read the audit
trail: every viewing session (who, when, for how long, from where), totals and a CSV export.
Read-only; mounted by ``LibraryAdminSite``.
"""

from django.contrib import admin
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from audit import export
from audit.admin import require_reader
from core.admin import DateRangeForm, clock, paginate
from videos.models import Video

from .models import ViewEvent


def video_viewers(request, uuid):
    """Every viewing session of one video: who, when, for how long, from where; totals; CSV."""
    require_reader(request)
    video = get_object_or_404(Video, uuid=uuid)
    form = DateRangeForm(request.GET or None)
    sessions = form.filter(ViewEvent.objects.filter(video=video), "started_at")
    if request.GET.get("export") == "csv":
        return viewevents_csv(sessions, filename=f"viewers-{video.uuid}")
    totals = sessions.aggregate(
        sessions=Count("pk"), viewers=Count("user", distinct=True), seconds=Sum("seconds_watched")
    )
    page = paginate(request, sessions.select_related("user").order_by("-started_at", "-pk"), "page")
    for event in page:
        event.watched = clock(event.seconds_watched)
    export = request.GET.copy()
    export.pop("page", None)
    export["export"] = "csv"
    context = {
        **admin.site.each_context(request),
        "title": f"Who watched “{video.title}”",
        "video": video,
        "form": form,
        "page": page,
        "totals": {**totals, "watched": clock(totals["seconds"])},
        "export_url": f"?{export.urlencode()}",
    }
    return TemplateResponse(request, "admin/audit/video_viewers.html", context)


def viewevents_csv(queryset, *, filename: str):
    """Viewing sessions as a streamed CSV whose cells spreadsheets read as text, never formulas."""
    header = [
        "started",
        "last_seen",
        "username",
        "full_name",
        "video_uuid",
        "video_title",
        "seconds_watched",
        "ip_address",
    ]
    sessions = queryset.select_related("user", "video").order_by("-started_at", "-pk")
    rows = (
        [
            event.started_at.isoformat(),
            event.last_seen_at.isoformat(),
            event.user.username,
            event.user.full_name,
            event.video.uuid,
            event.video.title,
            round(event.seconds_watched, 1),
            event.ip_address or "",
        ]
        for event in sessions.iterator(chunk_size=2000)
    )
    return export.csv_response(rows, header=header, filename=filename)
