"""Site-wide pages that belong to no app: home (until the library arrives), legal pages, errors."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date


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
