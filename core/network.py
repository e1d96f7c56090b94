"""
The client's address, decided in one place for lockout, rate limits, audit and logs.

``X-Forwarded-For`` is a list each proxy appends to, so only the entries added by our own
proxies can be believed. With ``TRUSTED_PROXY_COUNT = N`` the client is the N-th address
from the right; anything further left was written by the client and is ignored. With
``N = 0`` (the default) the header is ignored entirely and ``REMOTE_ADDR`` is the client,
so a spoofed header can never reset a limit (seed flaw H2).
"""

import ipaddress

from django.conf import settings


def _valid_ip(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str:
    """Return the address of the client that sent ``request``."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR", "")) or "0.0.0.0"  # noqa: S104 (an unknown peer, not a bind address)
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    if settings.TRUSTED_PROXIES and remote not in settings.TRUSTED_PROXIES:
        # The peer is not one of our proxies, so nothing it says about others is trusted.
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < hops:
        return remote
    return _valid_ip(forwarded[-hops]) or remote


def user_agent(request) -> str:
    """The client's User-Agent, truncated to what the audit trail stores."""
    return request.META.get("HTTP_USER_AGENT", "")[:512]
