"""Template context shared by every page: what the signed-in user's roles allow."""

from django.conf import settings

from . import roles


def navigation(request):
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "site_name": settings.SITE_NAME,
        "nav": {
            "signed_in": signed_in,
            "can_upload": signed_in and user.has_role(roles.UPLOADER, roles.EDITOR, roles.APPROVER, roles.ADMIN),
            "can_review": signed_in and user.has_role(roles.APPROVER, roles.ADMIN),
            "can_admin": signed_in and user.has_role(*roles.ADMIN_SITE_ROLES),
            "theme": user.theme if signed_in else "system",
        },
    }
