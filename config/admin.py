"""
Django admin site: entered through the site's own sign-in (so lockout, rate limits and
two-factor apply identically), open to the Editor, Approver and Admin roles, each of whom
sees only what their permissions allow.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.http import urlencode


class LibraryAdminSite(admin.AdminSite):
    site_header = "Surgical Video Library administration"
    site_title = "Video Library admin"
    index_title = "Administration"

    def has_permission(self, request):
        user = request.user
        if not (user.is_active and user.is_authenticated):
            return False
        if not user.may_use_admin:
            return False
        # Staff must have passed the second factor in this session (OTP_REQUIRED_ROLES).
        return not user.otp_required or user.is_verified()

    def get_urls(self):
        from library import audit_views as library_audit

        from . import access_review, audit_views, dashboard

        return [
            path("dashboard/", self.admin_view(dashboard.dashboard_view), name="dashboard"),
            path("access-review/", self.admin_view(access_review.access_review), name="access_review"),
            path("audit/users/<int:pk>/", self.admin_view(audit_views.user_activity), name="user_activity"),
            path(
                "audit/videos/<uuid:uuid>/viewers/", self.admin_view(library_audit.video_viewers), name="video_viewers"
            ),
            *super().get_urls(),
        ]

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            # Signed in but without an admin role: say so rather than loop through sign-in.
            raise PermissionDenied("Your account does not have access to the administration pages.")
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")

    def logout(self, request, extra_context=None):
        from accounts.views import logout_view

        if request.method != "POST":
            return redirect("admin:index")
        return logout_view(request)


class LibraryAdminConfig(AdminConfig):
    default_site = "config.admin.LibraryAdminSite"
