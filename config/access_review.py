"""
The access review for Admins (issue #17, ``admin:access_review``): every account holding a
role, each role with where it came from (granted here, or by the directory/SSO group:
``accounts.sso.role_sources``), the last sign-in, the last view (library) and the last
review; Admins confirm or revoke each account (governance services, audited) and export the
whole list as CSV for the quarterly record. It reads accounts, library and governance, so it
lives at the top (config). A page costs the same few queries at 25 accounts or 25 000.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods

from accounts import sso
from accounts.models import User
from audit.export import csv_response
from core.admin import paginate
from governance import rights, services
from governance.models import AccessReview
from library.models import ViewEvent

CSV_HEADER = [
    "username",
    "full name",
    "e-mail",
    "active",
    "roles (source)",
    "last sign-in",
    "last view",
    "last review",
    "reviewed by",
]


def accounts_with_roles():
    """Every account with a role (or superuser), with its last view and last review, by username."""
    last_view = ViewEvent.objects.filter(user=OuterRef("pk")).order_by("-started_at").values("started_at")[:1]
    reviews = AccessReview.objects.filter(user=OuterRef("pk")).order_by("-reviewed_at", "-id")
    return (
        User.objects.filter(Q(groups__isnull=False) | Q(is_superuser=True))
        .distinct()
        .annotate(
            last_view=Subquery(last_view),
            last_review_at=Subquery(reviews.values("reviewed_at")[:1]),
            last_review_decision=Subquery(reviews.values("decision")[:1]),
            last_reviewer=Subquery(reviews.values("reviewer__username")[:1]),
        )
        .prefetch_related("groups", "external_identities")
        .order_by("username", "pk")
    )


def role_sources(user) -> list[tuple[str, str]]:
    """(role, where it came from), the superuser flag first when set."""
    rows = sso.role_sources(user)
    return [("Superuser", "granted by an administrator"), *rows] if user.is_superuser else rows


def _csv_rows(users):
    for user in users:
        yield [
            user.username,
            user.full_name,
            user.email,
            "yes" if user.is_active else "no",
            "; ".join(f"{role} ({source})" for role, source in role_sources(user)),
            user.last_login.isoformat() if user.last_login else "",
            user.last_view.isoformat() if user.last_view else "",
            f"{user.last_review_decision} {user.last_review_at.isoformat()}" if user.last_review_at else "",
            user.last_reviewer or "",
        ]


@require_http_methods(["GET", "POST"])
def access_review(request):
    """The report (GET, ``?export=csv``) and the confirm / revoke buttons (POST ``action``, ``user``)."""
    if not rights.may_review_access(request.user):
        raise PermissionDenied("Only Admins may review access.")
    if request.method == "POST":
        subject = get_object_or_404(User, pk=request.POST.get("user"))
        action = request.POST.get("action")
        try:
            if action == "confirm":
                services.access_confirm(reviewer=request.user, user=subject)
                messages.success(request, f"Roles of {subject.username} confirmed.")
            elif action == "revoke":
                services.access_revoke(reviewer=request.user, user=subject)
                messages.success(request, f"Every role of {subject.username} removed.")
            else:
                messages.error(request, "Unknown action.")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect(f"{request.path}?{request.GET.urlencode()}" if request.GET else request.path)
    users = accounts_with_roles()
    if request.GET.get("export") == "csv":
        return csv_response(_csv_rows(users), header=CSV_HEADER, filename="access-review")
    page = paginate(request, users, "page")
    rows = [(user, role_sources(user)) for user in page.object_list]
    context = {
        **admin.site.each_context(request),
        "title": "Access review",
        "page": page,
        "rows": rows,
    }
    return TemplateResponse(request, "admin/access_review.html", context)
