"""Site-wide pages that belong to no app: home (until the library arrives), legal pages, errors."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.dateparse import parse_date


@login_required
def home(request):
    return render(request, "home.html")


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


def error_403(request, exception=None):
    return render(request, "errors/403.html", {"message": str(exception or "")}, status=403)


def error_404(request, exception=None):
    return render(request, "errors/404.html", status=404)


def error_500(request):
    return render(request, "errors/500.html", status=500)
