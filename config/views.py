"""Site-wide pages that belong to no app: legal pages, errors and the health check."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import health


def terms(request):
    return render(request, "legal/terms.html", _legal_context(settings.TERMS_EFFECTIVE_DATE))


def privacy(request):
    return render(request, "legal/privacy.html", _legal_context(settings.PRIVACY_EFFECTIVE_DATE))


def _legal_context(effective: str) -> dict:
    # A fixed date from settings: the seed printed today's date on every render.
    return {
        "effective_date": parse_date(effective) or effective,
        "organisation": settings.ORGANISATION_NAME,
        "contact_email": settings.CONTACT_EMAIL,
    }


@never_cache
@require_safe
def healthz(request):
    """
    For load balancers and monitoring: 200 when this node can serve, 503 naming the failed
    checks otherwise (see :func:`config.health.run_checks`). No sign-in; nothing secret.
    """
    healthy, body = health.run_checks()
    return JsonResponse(body, status=200 if healthy else 503)


def _api_error(request, status: int, detail: str):
    return JsonResponse({"detail": detail, "request_id": getattr(request, "id", None)}, status=status)


def error_403(request, exception=None):
    if request.path.startswith("/api/"):
        return _api_error(request, 403, "You do not have permission to perform this action.")
    return render(request, "errors/403.html", {"message": str(exception or "")}, status=403)


def error_404(request, exception=None):
    if request.path.startswith("/api/"):
        return _api_error(request, 404, "Not found.")
    return render(request, "errors/404.html", status=404)


def error_500(request):
    if request.path.startswith("/api/"):
        return _api_error(request, 500, "Internal server error. Quote the request id to an administrator.")
    return render(request, "errors/500.html", {"request_id": getattr(request, "id", None)}, status=500)
