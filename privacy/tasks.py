"""django-q2 entry points for privacy (on the transcode cluster): load by id, call the service."""

from .services import privacy_redact_run, privacy_scan_run


def scan(video_id: int) -> str:
    """Queued when a first ladder is complete (privacy.services.scan_enqueue)."""
    return privacy_scan_run(video_id=video_id)


def redact(video_id: int, token: str) -> str:
    """Queued by privacy_apply with the scan's applying token."""
    return privacy_redact_run(video_id=video_id, token=token)
