"""The audit trail in admin: read-only for everyone, exported as CSV."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from core.admin import ReadOnlyAdminMixin

from . import export
from .models import AuditEvent

READER_PERMISSION = "audit.view_auditevent"


def require_reader(request) -> None:
    """Refuse anyone who may not read the audit trail (the Admin role)."""
    if not request.user.has_perm(READER_PERMISSION):
        raise PermissionDenied("Only those who may read the audit trail can see this page.")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: entries cannot be added, edited or deleted here."""

    list_display = ["created_at", "event", "actor", "target_user", "username", "ip_address", "short_detail"]
    list_filter = [
        "event",
        ("created_at", admin.DateFieldListFilter),
        ("actor", admin.RelatedOnlyFieldListFilter),
        ("target_user", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["username", "actor__username", "target_user__username", "ip_address", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "target_user"]
    actions = ["export_csv"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    @admin.display(description="Detail")
    def short_detail(self, event):
        text = ", ".join(f"{k}={v}" for k, v in (event.detail or {}).items())
        return text[:120]

    @admin.action(description="Export selected events as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        header = ["time", "event", "actor", "target", "username", "ip_address", "user_agent", "request_id", "detail"]
        rows = (
            [
                event.created_at.isoformat(),
                event.event,
                event.actor.username if event.actor else "",
                event.target_user.username if event.target_user else "",
                event.username,
                event.ip_address or "",
                event.user_agent,
                event.request_id,
                event.detail,
            ]
            for event in queryset.select_related("actor", "target_user").iterator(chunk_size=2000)
        )
        return export.csv_response(rows, header=header, filename="audit")
