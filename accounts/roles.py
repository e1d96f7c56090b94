"""
Roles are Django groups (DESIGN §4). This table is the single source of what each role
may do; ``sync_role_permissions`` (run after every ``migrate``) makes the groups match it,
so permissions added by later migrations reach the roles without hand edits.

Each role includes everything of the roles before it.
"""

VIEWER = "Viewer"
UPLOADER = "Uploader"
EDITOR = "Editor"
APPROVER = "Approver"
ADMIN = "Admin"

ROLES = [VIEWER, UPLOADER, EDITOR, APPROVER, ADMIN]

# Roles whose members may open Django admin (each sees only what its permissions allow).
ADMIN_SITE_ROLES = [EDITOR, APPROVER, ADMIN]

# "app_label.codename" per role; a role's own list is added to those of the roles before it.
# Codenames of models that do not exist yet are skipped until their migration has run.
_OWN_PERMISSIONS = {
    VIEWER: [
        "videos.view_video",
        "library.view_playlist",
        "library.add_playlist",
        "library.change_playlist",
        "library.delete_playlist",
    ],
    UPLOADER: [
        "videos.upload_video",
        "library.share_playlist",
    ],
    EDITOR: [
        "videos.change_video",
        "videos.view_all_videos",
        "videos.view_tag",
        "videos.add_tag",
        "videos.change_tag",
        "videos.delete_tag",
        "videos.view_category",
        "videos.add_category",
        "videos.change_category",
        "videos.delete_category",
        "videos.view_surgeon",
        "videos.add_surgeon",
        "videos.change_surgeon",
        "videos.delete_surgeon",
        "library.view_searchsynonym",
        "library.add_searchsynonym",
        "library.change_searchsynonym",
        "library.delete_searchsynonym",
        # Teaching (issue #16): a category's step vocabulary is curated with the catalogue.
        "teaching.view_step",
        "teaching.add_step",
        "teaching.change_step",
        "teaching.delete_step",
    ],
    APPROVER: [
        "videos.publish_video",
        "governance.set_legal_hold",
        # Privacy (issue #17): scans and ranges read in admin (decided through privacy.services), masks kept there.
        "privacy.view_privacyscan",
        "privacy.view_privacyrange",
        "privacy.view_mask",
        "privacy.add_mask",
        "privacy.change_mask",
        "privacy.delete_mask",
    ],
    ADMIN: [
        "accounts.view_user",
        "accounts.change_user",
        "accounts.add_user",
        "accounts.approve_registration",
        "accounts.manage_security",
        "audit.view_auditevent",
        "auth.view_group",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accessfailurelog",
        "axes.view_accesslog",
        "videos.delete_video",
        # Governance (issue #17): retention policies, the deletion queue, originals, access review.
        "governance.view_retentionpolicy",
        "governance.add_retentionpolicy",
        "governance.change_retentionpolicy",
        "governance.delete_retentionpolicy",
        "governance.view_deletiondue",
        "governance.confirm_deletion",
        "governance.view_legalhold",
        "governance.download_original",
        "governance.review_access",
        "governance.view_accessreview",
    ],
}


def permissions_for(role: str) -> list[str]:
    """Every permission of ``role``, including those it inherits."""
    result: list[str] = []
    for name in ROLES:
        result.extend(_OWN_PERMISSIONS[name])
        if name == role:
            return result
    raise KeyError(role)


def sync_role_permissions(**kwargs) -> None:
    """Create the role groups and give each exactly the permissions in the table above."""
    from django.contrib.auth.models import Group, Permission

    wanted = {role: permissions_for(role) for role in ROLES}
    all_codes = {code for codes in wanted.values() for code in codes}
    available = {
        f"{perm.content_type.app_label}.{perm.codename}": perm
        for perm in Permission.objects.select_related("content_type").filter(
            codename__in={code.split(".", 1)[1] for code in all_codes}
        )
    }
    for role, codes in wanted.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([available[code] for code in codes if code in available])
