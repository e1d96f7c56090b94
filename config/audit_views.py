"""
One person's activity in admin (``admin:user_activity``), for those who may read the audit
trail: sign-ins and other audit events, uploads and viewing sessions, by date range. It reads
every app, so it lives at the top (config). Read-only; mounted by ``LibraryAdminSite``.
"""

from django.contrib import admin
from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from accounts.models import User
from audit.admin import require_reader
from audit.models import AuditEvent
from core.admin import DateRangeForm, clock, paginate
from library.models import ViewEvent
from videos.models import Video

SIGN_IN_EVENTS = [
    AuditEvent.Event.LOGIN_SUCCESS,
    AuditEvent.Event.LOGIN_FAILURE,
    AuditEvent.Event.LOCKOUT,
    AuditEvent.Event.OTP_FAILURE,
    AuditEvent.Event.LOGOUT,
]


def user_activity(request, pk: int):
    """Sign-ins, uploads, viewing sessions and other audit events of one person, by date range."""
    require_reader(request)
    subject = get_object_or_404(User.objects.with_roles(), pk=pk)
    form = DateRangeForm(request.GET or None)
    involving = Q(actor=subject) | Q(target_user=subject)
    events = AuditEvent.objects.filter(involving).select_related("actor", "target_user")

    sign_ins = paginate(request, form.filter(events.filter(event__in=SIGN_IN_EVENTS), "created_at"), "signins_page")
    other_events = paginate(request, form.filter(events.exclude(event__in=SIGN_IN_EVENTS), "created_at"), "events_page")
    uploads = paginate(
        request,
        form.filter(Video.objects.filter(uploader=subject).order_by("-created_at", "-pk"), "created_at").only(
            "pk", "uuid", "title", "status", "size_bytes", "created_at"
        ),
        "uploads_page",
    )
    views_qs = form.filter(ViewEvent.objects.filter(user=subject), "started_at")
    views = paginate(request, views_qs.select_related("video").order_by("-started_at", "-pk"), "views_page")
    view_totals = views_qs.aggregate(sessions=Count("pk"), seconds=Sum("seconds_watched"))
    for event in views:
        event.watched = clock(event.seconds_watched)

    context = {
        **admin.site.each_context(request),
        "title": f"Activity of {subject.username}",
        "subject": subject,
        "form": form,
        "sign_ins": sign_ins,
        "uploads": uploads,
        "views": views,
        "view_totals": {**view_totals, "watched": clock(view_totals["seconds"])},
        "other_events": other_events,
        "can_change_user": request.user.has_perm("accounts.view_user"),
    }
    return TemplateResponse(request, "admin/audit/user_activity.html", context)
