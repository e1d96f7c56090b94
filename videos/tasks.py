"""django-q2 entry points for videos: load by id, call the service, own only the job policy."""

from . import services


def transcode(video_id: int, token: str) -> str:
    """Queued by video_create_from_file / video_reprocess with the video's job token."""
    return services.video_transcode(video_id=video_id, token=token)


def reap_stalled() -> int:
    """Scheduled every few minutes (see videos/migrations): fail jobs whose worker died."""
    return services.videos_reap_stalled()


def purge_expired_uploads() -> int:
    """Scheduled hourly: remove abandoned resumable uploads."""
    return services.uploads_purge_expired()
