"""
Who may do what with governance records: one predicate per right, from permissions (the
role groups hold them, accounts.roles), never group names.
"""

from videos import rights as video_rights


def _has(user, permission: str) -> bool:
    return user is not None and user.is_authenticated and user.has_perm(permission)


def may_set_consent(user, video) -> bool:
    """The video's owner (with upload rights) and approvers record consent."""
    if not video_rights.may_watch(user):
        return False
    return video_rights.may_review(user) or (video.uploader_id == user.pk and video_rights.may_upload(user))


def may_set_legal_hold(user) -> bool:
    """Approvers and Admins (``governance.set_legal_hold``) set and release legal holds."""
    return _has(user, "governance.set_legal_hold")


def may_confirm_deletion(user) -> bool:
    """Admins (``governance.confirm_deletion``) confirm the deletion of videos due for deletion."""
    return _has(user, "governance.confirm_deletion")


def may_download_original(user) -> bool:
    """Admins (``governance.download_original``) download an uploaded original, with a reason."""
    return _has(user, "governance.download_original")


def may_review_access(user) -> bool:
    """Admins (``governance.review_access``) see the access review and confirm or revoke roles."""
    return _has(user, "governance.review_access")
