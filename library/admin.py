from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from audit.admin import READER_PERMISSION
from core.admin import ReadOnlyAdminMixin, clock

from .audit_views import viewevents_csv
from .models import SearchSynonym, ViewEvent


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    list_display = ["term", "synonyms", "updated_at"]
    search_fields = ["term", "synonyms"]
    ordering = ["term"]


@admin.register(ViewEvent)
class ViewEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """
    Who watched what: part of the audit trail, so it is shown to those who may read the
    audit trail (``audit.view_auditevent``) and is read-only for everyone; old sessions
    are removed only by ``prune_audit``.
    """

    list_display = ["started_at", "user_link", "video_link", "last_seen_at", "watched", "ip_address"]
    list_filter = [
        ("started_at", admin.DateFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
        ("video", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["user__username", "user__full_name", "video__title", "=video__uuid", "ip_address"]
    date_hierarchy = "started_at"
    list_select_related = ["user", "video"]
    readonly_fields = [f.name for f in ViewEvent._meta.fields]
    actions = ["export_csv"]

    @admin.display(description="Viewer", ordering="user__username")
    def user_link(self, event):
        return format_html('<a href="{}">{}</a>', reverse("admin:user_activity", args=[event.user_id]), event.user)

    @admin.display(description="Video", ordering="video__title")
    def video_link(self, event):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:video_viewers", args=[event.video.uuid]), event.video.title
        )

    @admin.display(description="Watched", ordering="seconds_watched")
    def watched(self, event):
        return clock(event.seconds_watched)

    def has_module_permission(self, request):
        return request.user.has_perm(READER_PERMISSION) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(READER_PERMISSION)

    @admin.action(description="Export selected viewing sessions as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return viewevents_csv(queryset, filename="viewing-sessions")
