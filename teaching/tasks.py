"""django-q2 entry points for teaching (on the transcode cluster): load by id, call the service."""

from .services import caption_draft_run


def transcribe(video_id: int) -> str:
    """Queued when a ladder is complete and speech-to-text is on (teaching.services.caption_draft_enqueue)."""
    return caption_draft_run(video_id=video_id)
