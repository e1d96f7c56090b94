"""
Structured logging: one JSON object per line on stdout.

Every record carries the current request id and user id (set by
``core.middleware.RequestIdMiddleware`` in the context variables of ``core.context``), so one
request can be followed across the web process, and the job it enqueues, with ``grep``.
"""

import json
import logging
from datetime import UTC, datetime

from .context import request_id_var, user_id_var

# Attributes every LogRecord has; anything else passed via ``extra=`` is emitted as a field.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Never emitted, whatever a caller passes in ``extra`` (defence in depth; callers must not).
_SECRET_KEYS = {"password", "otp", "code", "token", "access", "refresh", "key", "secret", "authorization"}


class RequestContextFilter(logging.Filter):
    """Copies the request id and user id of the current context onto the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "user_id"):
            record.user_id = user_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as a single-line JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user_id": getattr(record, "user_id", None),
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key in payload or key.startswith("_"):
                continue
            if key.lower() in _SECRET_KEYS:
                continue
            payload[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)
