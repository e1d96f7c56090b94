"""
Who may do what with videos: one predicate per right, each a permission the role groups hold
(accounts.roles), never a check of group names. ``VideoQuerySet.visible_to``, the
``Video.can_*`` methods, the services and every door ask these.

An inactive or signed-out user holds no permission (Django's ModelBackend), so each predicate
is False for them; a superuser holds every one.
"""


def _has(user, permission: str) -> bool:
    return user is not None and user.is_authenticated and user.has_perm(permission)


def may_watch(user) -> bool:
    """
    Whether ``user`` may see any video at all (``videos.view_video``, every role). An account
    whose roles were all removed, or that was created without one, sees nothing, through every door.
    """
    return _has(user, "videos.view_video")


def sees_all_videos(user) -> bool:
    """Editors, Approvers and Admins (``videos.view_all_videos``) see videos in every state."""
    return may_watch(user) and _has(user, "videos.view_all_videos")


def may_upload(user) -> bool:
    """Uploaders and above (``videos.upload_video``); they also see and edit their own videos."""
    return _has(user, "videos.upload_video")


def may_edit_any(user) -> bool:
    """Editors and above (``videos.change_video``) edit any video's metadata."""
    return _has(user, "videos.change_video")


def may_review(user) -> bool:
    """Approvers and above (``videos.publish_video``) publish, reject and archive."""
    return _has(user, "videos.publish_video")


def may_delete_any(user) -> bool:
    """Admins (``videos.delete_video``) delete any video; owners only their unpublished ones."""
    return _has(user, "videos.delete_video")


def may_add_to_catalogue(user, model) -> bool:
    """Whether ``user`` may create a tag, category or surgeon (``videos.add_<model>``, Editors and above)."""
    return _has(user, f"videos.add_{model._meta.model_name}")


def sees_other_states(user) -> bool:
    """Whether any video ``user`` may see can be in a state other than published (a status filter makes sense)."""
    return sees_all_videos(user) or may_upload(user)
