"""Where to send someone after a form: never off the site (no open redirects)."""

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, candidate: str | None = None, *, fallback: str = "") -> str:
    """
    ``candidate`` (default: the ``next`` field of the POST, else of the query string) when it is
    a URL of this site, on the same scheme when the request is secure; ``fallback`` otherwise.
    """
    if candidate is None:
        candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback
