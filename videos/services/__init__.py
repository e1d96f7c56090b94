"""
Writes on videos, one module per concern. Every door — API views, pages, admin, management
commands, django-q2 tasks — calls these, so each rule is written once:

- ``metadata``: what a video says, and ``metadata_clean``, the one set of rules for it;
  ``video_update``.
- ``catalogue``: tags, categories and surgeons: ``catalogue_add``, merges, bulk edits.
- ``uploads``: recordings coming in (admission, resumable uploads, ``upload_complete``,
  ``video_create_from_file``) and going out (``video_delete``).
- ``review``: the review workflow: publish, reject, archive, resubmit, the uploader's e-mails.
- ``transcode``: the transcoding job: queueing, reprocess, the job itself, the reaper.

Beside them, modules that know one tool or one layout and write no rows: ``transcoding``
(FFmpeg and ffprobe), ``ingest`` (the checks a file passes), ``storage`` (where files live),
``delivery`` (signed URLs and playlists). Callers may import from the module or from here.
"""

from .catalogue import catalogue_add
from .metadata import METADATA_FIELDS, metadata_clean, video_update
from .review import (
    ARCHIVE_FROM,
    PUBLISH_FROM,
    REJECT_FROM,
    review_notice_send,
    video_archive,
    video_publish,
    video_reject,
    video_resubmit,
)
from .transcode import JobSuperseded, video_reprocess, video_transcode, videos_reap_stalled
from .uploads import (
    Completed,
    DuplicateVideo,
    QuotaExceeded,
    upload_admit,
    upload_append,
    upload_complete,
    upload_discard,
    upload_resume,
    upload_start,
    upload_usage,
    uploads_purge_expired,
    video_create_from_file,
    video_delete,
)

__all__ = [
    "ARCHIVE_FROM",
    "METADATA_FIELDS",
    "PUBLISH_FROM",
    "REJECT_FROM",
    "Completed",
    "DuplicateVideo",
    "JobSuperseded",
    "QuotaExceeded",
    "catalogue_add",
    "metadata_clean",
    "review_notice_send",
    "upload_admit",
    "upload_append",
    "upload_complete",
    "upload_discard",
    "upload_resume",
    "upload_start",
    "upload_usage",
    "uploads_purge_expired",
    "video_archive",
    "video_create_from_file",
    "video_delete",
    "video_publish",
    "video_reject",
    "video_reprocess",
    "video_resubmit",
    "video_transcode",
    "video_update",
    "videos_reap_stalled",
]
