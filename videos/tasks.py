"""django-q2 entry points for videos: load by id, call the service, own only the job policy."""

from .services.transcode import transcode_chunk_run, video_transcode, videos_reap_stalled
from .services.uploads import uploads_purge_expired


def transcode(video_id: int, token: str, redo: list[list[float]] | None = None) -> str:
    """The planning task, queued by transcode_enqueue (after an upload, on reprocess) with the video's job token."""
    return video_transcode(video_id=video_id, token=token, redo=redo)


def transcode_chunk(chunk_id: int, token: str) -> str:
    """Queued by the planning task and by each finished chunk (a window at a time, in timeline order)."""
    return transcode_chunk_run(chunk_id=chunk_id, token=token)


def reap_stalled() -> int:
    """Scheduled every few minutes (see videos/migrations): queue again the chunks whose worker died."""
    return videos_reap_stalled()


def purge_expired_uploads() -> int:
    """Scheduled hourly: remove abandoned resumable uploads."""
    return uploads_purge_expired()
