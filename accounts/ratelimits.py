"""
Rate limits for the account endpoints, on the shared cache (django-ratelimit).

Views call :func:`check` first thing; it raises :class:`RateLimited` with the seconds to
wait. The DRF exception handler turns that into 429 + ``Retry-After`` JSON, and
:class:`accounts.middleware.RateLimitMiddleware` into a 429 page for HTML views.
Limits are per client address (see :mod:`core.network`) and per endpoint group, with
the rates in ``settings.RATELIMITS``.
"""

import logging

from django.conf import settings
from django_ratelimit import ALL
from django_ratelimit.core import get_usage
from django_ratelimit.exceptions import Ratelimited

from core.errors import Refused
from core.network import client_ip

logger = logging.getLogger("svl.ratelimit")


class RateLimited(Refused, Ratelimited):
    """Too many requests; ``retry_after`` is the number of seconds to wait (429 on the API)."""

    status = 429

    def __init__(self, retry_after: int):
        retry_after = max(1, int(retry_after))
        super().__init__(f"Too many requests. Try again in {retry_after} seconds.", retry_after=retry_after)


class RateLimitUnavailable(RateLimited):
    """The counters cannot be read (the shared cache is down): refuse, unless RATELIMIT_FAIL_OPEN."""

    def __init__(self):
        super().__init__(60)


def _client_key(group, request):
    return client_ip(getattr(request, "_request", request))


def check(request, group: str, *, methods: tuple[str, ...] = ("POST",)) -> None:
    """Count this request against ``group`` and raise RateLimited when over the limit."""
    if request.method not in methods:
        return
    try:
        usage = get_usage(
            getattr(request, "_request", request),
            group=f"svl.{group}",
            key=_client_key,
            rate=settings.RATELIMITS[group],
            method=ALL,
            increment=True,
        )
    except Exception:  # the cache is unreachable: fail closed (the default) or open, as configured
        logger.exception("rate-limit counters unavailable for %s", group)
        if settings.RATELIMIT_FAIL_OPEN:
            return
        raise RateLimitUnavailable() from None
    if usage is not None and usage["should_limit"]:
        raise RateLimited(usage["time_left"])
