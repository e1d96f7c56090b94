"""Writing the audit trail. Call inside the transaction of the change being recorded."""

from .models import AuditEvent
from .network import client_ip, user_agent

# Keys that may never reach ``detail``, whatever a caller passes (DESIGN §8).
_FORBIDDEN_DETAIL_KEYS = {"password", "new_password", "old_password", "code", "otp", "token", "key", "secret"}


def record(event: str, *, request=None, actor=None, target=None, username: str = "", **detail) -> AuditEvent:
    """
    Record ``event``. ``actor`` defaults to the signed-in user of ``request``; the client
    address, user agent and request id come from ``request`` when given.
    """
    leaked = _FORBIDDEN_DETAIL_KEYS.intersection(detail)
    if leaked:
        raise ValueError(f"refusing to audit secret fields: {sorted(leaked)}")
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
