"""django-q2 entry points for governance: call the service, own only the schedule."""


def retention_scan() -> dict:
    """Scheduled daily (governance/migrations/0002): list what is due, delete what an Admin confirmed."""
    from .services import retention_scan as scan

    return scan()


def originals_purge() -> int:
    """Scheduled daily (governance/migrations/0002): delete originals past KEEP_ORIGINALS_DAYS."""
    from .services import originals_purge as purge

    return purge()


def deletion_run(due_id: int) -> bool:
    """Queued when an Admin confirms a deletion; the daily scan retries what is left."""
    from .services import deletion_run as run

    return run(due_id=due_id)
