"""Project-wide middleware: request ids with an access log, and Permissions-Policy."""

import logging
import re
import time
import uuid

from django.conf import settings

from .context import request_id_var, request_var, user_id_var

access_log = logging.getLogger("svl.access")

# A client-supplied id is kept only if it looks like one (no log injection).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


# URL parameters that carry a secret (the password-reset token): never logged (DESIGN §8).
_SECRET_URL_KWARGS = ("token",)


def _loggable_path(request) -> str:
    """``request.path`` with any secret URL parameter of the matched view masked."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    for name in _SECRET_URL_KWARGS:
        value = match.kwargs.get(name) if match is not None else None
        if value:
            path = path.replace(str(value), "[redacted]")
    return path


class RequestIdMiddleware:
    """
    Gives every request an id (``request.id``, ``X-Request-ID`` on the response, and every
    log line written while handling it), then writes one access-log line when it finishes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        agent = request.META.get("HTTP_USER_AGENT")
        if agent and _CONTROL_CHARS.search(agent):
            # A NUL byte in the User-Agent would make PostgreSQL refuse the audit/axes rows.
            request.META["HTTP_USER_AGENT"] = _CONTROL_CHARS.sub("", agent)
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request_token = request_id_var.set(request.id)
        user_token = user_id_var.set(None)
        current_token = request_var.set(request)
        started = time.monotonic()
        response = None
        try:
            response = self.get_response(request)
            return response
        finally:
            # Set by whichever authentication ran; reading request.user here would load a
            # session for requests (HLS segments) that must not touch the database.
            user_id = user_id_var.get()
            if response is not None:
                response["X-Request-ID"] = request.id
            path = _loggable_path(request)
            access_log.info(
                "%s %s",
                request.method,
                path,
                extra={
                    "user_id": user_id,
                    "method": request.method,
                    "path": path,
                    "status": response.status_code if response is not None else 500,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            request_id_var.reset(request_token)
            user_id_var.reset(user_token)
            request_var.reset(current_token)


class PermissionsPolicyMiddleware:
    """Sets ``Permissions-Policy`` (fullscreen allowed for our own player, sensors off)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
