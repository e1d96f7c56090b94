"""
Refusals that services raise and every door turns into an answer: the API's exception
handler (``core.api``) and the HTML views read ``status``, ``message``, ``code`` and
``retry_after`` from them, so no door needs to know each app's exception classes.
"""

import errno


class Refused(Exception):
    """
    A request a service will not carry out, with what to tell the person. ``status`` is the
    HTTP status an API answers with; ``retry_after`` (seconds) becomes ``Retry-After``.
    """

    status = 400

    def __init__(self, message: str, *, code: str = "", retry_after: int | None = None):
        super().__init__(message)
        self.message, self.code, self.retry_after = message, code, retry_after

    def __str__(self):
        return self.message


def is_storage_full(error: BaseException) -> bool:
    """Whether ``error`` is the disk (or the user's disk quota) running out of space."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


class StorageFull(OSError):
    """The disk cannot take what was asked (the API answers 507 with ``message``)."""

    def __init__(self, message: str):
        super().__init__(errno.ENOSPC, message)
        self.message = message
