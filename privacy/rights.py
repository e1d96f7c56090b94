"""Who may see and decide a video's privacy ranges (the API, the review page and the services ask these)."""

from videos import rights
from videos.models import Video


def may_decide(user, video: Video) -> bool:
    """Approvers, and the video's owner while they may edit it, decide ranges and apply them."""
    return video.can_review(user) or (video.uploader_id == getattr(user, "pk", None) and video.can_edit(user))


def may_read(user, video: Video) -> bool:
    """Those who decide, and editors (who curate every video): never a viewer, even of a published video."""
    return may_decide(user, video) or rights.may_edit_any(user)
