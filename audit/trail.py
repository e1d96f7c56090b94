"""
Writing the audit trail. Call inside the transaction of the change being recorded.

Services never take the request: who acted, from which address and with which user agent
and request id come from the request being handled (``core.context``, set by
``core.middleware.RequestIdMiddleware``). A job or a management command has none: its events
have no actor unless one is given, and no address.
"""

from core.context import current_request
from core.network import client_ip, user_agent

from .models import AuditEvent

Event = AuditEvent.Event

# Keys that may never reach ``detail``, whatever a caller passes (DESIGN §8).
_FORBIDDEN_DETAIL_KEYS = {"password", "new_password", "old_password", "code", "otp", "token", "key", "secret"}


def record(event: str, *, actor=None, target=None, username: str = "", **detail) -> AuditEvent:
    """
    Record ``event``. ``actor`` defaults to the signed-in user of the current request; the
    client address, user agent and request id are the current request's.
    """
    leaked = _FORBIDDEN_DETAIL_KEYS.intersection(detail)
    if leaked:
        raise ValueError(f"refusing to audit secret fields: {sorted(leaked)}")
    request = current_request()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    return AuditEvent.objects.create(
        event=event,
        actor=actor,
        target_user=target,
        username=(username or "")[:254],
        ip_address=client_ip(request) if request is not None else None,
        user_agent=user_agent(request) if request is not None else "",
        request_id=getattr(request, "id", "") if request is not None else "",
        detail=detail,
    )
