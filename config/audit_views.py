"""
Audit pages in admin, for those who may read the audit trail (``accounts.view_auditevent``,
the Admin role): one person's activity (``admin:user_activity``) and who watched one video
(``admin:video_viewers``, with a CSV export). Read-only; mounted by ``LibraryAdminSite``.
"""

import csv
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.admin import _csv_cell
from accounts.models import AuditEvent, User
from library.models import ViewEvent
from videos.models import Video

PERMISSION = "accounts.view_auditevent"
PER_PAGE = 25

SIGN_IN_EVENTS = [
    AuditEvent.Event.LOGIN_SUCCESS,
    AuditEvent.Event.LOGIN_FAILURE,
    AuditEvent.Event.LOCKOUT,
    AuditEvent.Event.OTP_FAILURE,
    AuditEvent.Event.LOGOUT,
]


class DateRangeForm(forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("“From” must not be after “To”.")
        return cleaned

    def filter(self, queryset, field: str):
        """``queryset`` limited to the chosen local days (whole days, both ends included)."""
        if not self.is_valid():
            return queryset
        start, end = self.cleaned_data.get("date_from"), self.cleaned_data.get("date_to")
        if start:
            queryset = queryset.filter(**{f"{field}__gte": timezone.make_aware(datetime.combine(start, time.min))})
        if end:
            next_day = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
            queryset = queryset.filter(**{f"{field}__lt": next_day})
        return queryset


def _require_audit_permission(request) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Only those who may read the audit trail can see this page.")


def _page(request, queryset, param: str):
    """One page of ``queryset`` (``?<param>=n``), with links that keep the other parameters."""
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get(param))

    def link(number):
        query = request.GET.copy()
        query[param] = number
        query.pop("export", None)
        return f"?{query.urlencode()}"

    page.previous_url = link(page.previous_page_number()) if page.has_previous() else None
    page.next_url = link(page.next_page_number()) if page.has_next() else None
    return page


def duration(seconds) -> str:
    """``3725`` → ``"1:02:05"``: seconds watched as a clock reading."""
    seconds = int(round(seconds or 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def user_activity(request, pk: int):
    """Sign-ins, uploads, viewing sessions and other audit events of one person, by date range."""
    _require_audit_permission(request)
    subject = get_object_or_404(User.objects.with_roles(), pk=pk)
    form = DateRangeForm(request.GET or None)
    involving = Q(actor=subject) | Q(target_user=subject)
    events = AuditEvent.objects.filter(involving).select_related("actor", "target_user")

    sign_ins = _page(request, form.filter(events.filter(event__in=SIGN_IN_EVENTS), "created_at"), "signins_page")
    other_events = _page(request, form.filter(events.exclude(event__in=SIGN_IN_EVENTS), "created_at"), "events_page")
    uploads = _page(
        request,
        form.filter(Video.objects.filter(uploader=subject).order_by("-created_at", "-pk"), "created_at").only(
            "pk", "uuid", "title", "status", "size_bytes", "created_at"
        ),
        "uploads_page",
    )
    views_qs = form.filter(ViewEvent.objects.filter(user=subject), "started_at")
    views = _page(request, views_qs.select_related("video").order_by("-started_at", "-pk"), "views_page")
    view_totals = views_qs.aggregate(sessions=Count("pk"), seconds=Sum("seconds_watched"))
    for event in views:
        event.watched = duration(event.seconds_watched)

    context = {
        **admin.site.each_context(request),
        "title": f"Activity of {subject.username}",
        "subject": subject,
        "form": form,
        "sign_ins": sign_ins,
        "uploads": uploads,
        "views": views,
        "view_totals": {**view_totals, "watched": duration(view_totals["seconds"])},
        "other_events": other_events,
        "can_change_user": request.user.has_perm("accounts.view_user"),
    }
    return TemplateResponse(request, "admin/audit/user_activity.html", context)


def video_viewers(request, uuid):
    """Every viewing session of one video: who, when, for how long, from where; totals; CSV."""
    _require_audit_permission(request)
    video = get_object_or_404(Video, uuid=uuid)
    form = DateRangeForm(request.GET or None)
    sessions = form.filter(ViewEvent.objects.filter(video=video), "started_at")
    if request.GET.get("export") == "csv":
        return viewevents_csv(sessions, filename=f"viewers-{video.uuid}")
    totals = sessions.aggregate(
        sessions=Count("pk"), viewers=Count("user", distinct=True), seconds=Sum("seconds_watched")
    )
    page = _page(request, sessions.select_related("user").order_by("-started_at", "-pk"), "page")
    for event in page:
        event.watched = duration(event.seconds_watched)
    export = request.GET.copy()
    export.pop("page", None)
    export["export"] = "csv"
    context = {
        **admin.site.each_context(request),
        "title": f"Who watched “{video.title}”",
        "video": video,
        "form": form,
        "page": page,
        "totals": {**totals, "watched": duration(totals["seconds"])},
        "export_url": f"?{export.urlencode()}",
    }
    return TemplateResponse(request, "admin/audit/video_viewers.html", context)


class _Echo:
    def write(self, value):
        return value


def viewevents_csv(queryset, *, filename: str) -> StreamingHttpResponse:
    """Viewing sessions as a streamed CSV whose cells spreadsheets read as text, never formulas."""
    writer = csv.writer(_Echo())
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

    def rows():
        yield writer.writerow(header)
        sessions = queryset.select_related("user", "video").order_by("-started_at", "-pk")
        for event in sessions.iterator(chunk_size=2000):
            row = [
                event.started_at.isoformat(),
                event.last_seen_at.isoformat(),
                event.user.username,
                event.user.full_name,
                event.video.uuid,
                event.video.title,
                round(event.seconds_watched, 1),
                event.ip_address or "",
            ]
            yield writer.writerow([_csv_cell(value) for value in row])

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
