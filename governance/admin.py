"""
Governance in the admin: retention policies (Admins edit them), the queue of videos due for
deletion (Admins confirm; the deletion runs through videos' ``video_delete``, so a legal hold
still wins), legal holds and access reviews (read-only here: set on the review page or API,
and on the access review page). Every write is a governance service.
"""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin, run_service_action

from . import services
from .models import AccessReview, DeletionDue, LegalHold, RetentionPolicy


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ["category", "keep_years"]
    autocomplete_fields = ["category"]


@admin.register(DeletionDue)
class DeletionDueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["video", "reason", "due_since", "held", "confirmed_by", "confirmed_at", "blocked"]
    list_filter = ["reason", ("confirmed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["video", "confirmed_by", "video__legal_hold"]
    search_fields = ["video__title", "video__uuid"]
    actions = ["confirm"]

    @admin.display(description="Legal hold", boolean=True)
    def held(self, due):
        return hasattr(due.video, "legal_hold")

    @admin.action(description="Confirm: delete the selected videos (files and keys)…", permissions=["confirm"])
    def confirm(self, request, queryset):
        if "post" not in request.POST:  # first step: say what will go, and ask again
            context = {
                **self.admin_site.each_context(request),
                "title": "Delete these videos for good?",
                "opts": self.model._meta,
                "queue": queryset.select_related("video", "video__legal_hold"),
            }
            return TemplateResponse(request, "admin/governance/confirm_deletion.html", context)
        run_service_action(
            self,
            request,
            queryset,
            lambda due: services.deletion_confirm(user=request.user, dues=[due]),
            "{count} deletion(s) confirmed; the videos are being deleted.",
        )

    def has_confirm_permission(self, request):
        return request.user.has_perm("governance.confirm_deletion")

    def get_actions(self, request):
        # ReadOnlyAdminMixin forbids deleting rows; the confirm action is the way out.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["video_link", "reason", "set_by", "set_at"]
    list_select_related = ["video", "set_by"]
    search_fields = ["video__title", "video__uuid", "reason"]

    @admin.display(description="Video", ordering="video__title")
    def video_link(self, hold):
        url = reverse("videos:review_video", kwargs={"video_uuid": hold.video.uuid})
        return format_html('<a href="{}">{}</a>', url, hold.video.title)


@admin.register(AccessReview)
class AccessReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "decision", "roles", "reviewer", "reviewed_at"]
    list_filter = ["decision", "reviewed_at"]
    list_select_related = ["user", "reviewer"]
    search_fields = ["user__username", "user__email"]
