"""Site-wide pages that belong to no app: legal pages, errors and the health check."""

import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError
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
    # Django calls this inside its except block: the exception is still the one in hand.
    if isinstance(sys.exc_info()[1], DatabaseError | InterfaceError) and not health.database_ok():
        return _unavailable(request)
    if request.path.startswith("/api/"):
        return _api_error(request, 500, "Internal server error. Quote the request id to an administrator.")
    return render(request, "errors/500.html", {"request_id": getattr(request, "id", None)}, status=500)


UNAVAILABLE_RETRY_SECONDS = 5


def _unavailable(request):
    """503 with Retry-After while the database is down; the page needs no database to render."""
    if request.path.startswith("/api/"):
        response = _api_error(
            request, 503, "The service is briefly unavailable (database). Try again in a few seconds."
        )
    else:
        response = render(request, "errors/503.html", status=503)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
    return response
