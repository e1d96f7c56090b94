"""
Sending SMS through a small backend interface, chosen by ``SMS_BACKEND``.

- ``console`` (development): logs that a message went to a (masked) number, never its text.
- ``http``: POSTs ``{"mobile", "message"}`` as JSON with ``Authorization: Bearer`` to
  ``SMS_API_URL`` (the seed's gateway contract). A non-2xx answer raises ``SMSError``.
Tests replace the backend with an in-memory outbox (the gateway is outside the machine).
"""

import logging

import requests
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SMSError(Exception):
    """The message could not be handed to the gateway."""


def mask(number: str) -> str:
    return f"{number[:3]}…{number[-2:]}" if len(number) > 5 else "…"


class ConsoleBackend:
    def send(self, number: str, message: str) -> None:
        logger.info("SMS sent (console backend)", extra={"to": mask(number), "length": len(message)})


class HTTPBackend:
    def send(self, number: str, message: str) -> None:
        if not settings.SMS_API_URL or not settings.SMS_API_TOKEN:
            raise SMSError("SMS_API_URL and SMS_API_TOKEN must be set for the http SMS backend.")
        try:
            response = requests.post(
                settings.SMS_API_URL,
                json={"mobile": number, "message": message},
                headers={"Authorization": f"Bearer {settings.SMS_API_TOKEN}"},
                timeout=settings.SMS_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise SMSError(f"SMS gateway unreachable: {exc.__class__.__name__}") from exc
        if not response.ok:
            raise SMSError(f"SMS gateway answered {response.status_code}")
        logger.info("SMS sent", extra={"to": mask(number)})


class LocmemBackend:
    """Keeps messages in ``outbox`` (tests)."""

    outbox: list[tuple[str, str]] = []

    def send(self, number: str, message: str) -> None:
        self.outbox.append((number, message))


_BACKENDS = {"console": ConsoleBackend, "http": HTTPBackend, "locmem": LocmemBackend}


def send_sms(number: str, message: str) -> None:
    name = settings.SMS_BACKEND
    backend = _BACKENDS[name]() if name in _BACKENDS else import_string(name)()
    backend.send(number, message)
