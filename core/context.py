"""
What the current request is, for code that must not take it as an argument.

``core.middleware.RequestIdMiddleware`` sets these for each request; a job or a management
command runs without one (``current_request()`` is None there). Logging reads the request and
user ids; the audit trail (``audit.trail.record``) reads the actor, the client address, the
user agent and the request id from the request, so services never take ``request``.
"""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
user_id_var: ContextVar[int | None] = ContextVar("user_id", default=None)
request_var: ContextVar[object | None] = ContextVar("request", default=None)


def current_request():
    """The Django ``HttpRequest`` being handled in this thread, or None (jobs, commands, tests without one)."""
    return request_var.get()
