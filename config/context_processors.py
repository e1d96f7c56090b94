"""Template context shared by every page: what the signed-in person's rights allow."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from library.catalogue import browse_counts
from teaching.services import unread_count
from videos import rights


def navigation(request):
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "site_name": settings.SITE_NAME,
        # Off with LOCAL_LOGIN=False too (settings): no link to a page that refuses everyone.
        "registration_open": settings.REGISTRATION_OPEN,
        "nav": {
            "signed_in": signed_in,
            "can_upload": signed_in and rights.may_upload(user),
            "can_review": signed_in and rights.may_review(user),
            "can_admin": signed_in and user.may_use_admin,
            "theme": user.theme if signed_in else "system",
            # From the cache (teaching.services.unread_count): no query on an ordinary page.
            # Lazy, like "browse": read only by a page that shows the header (admin pages never do).
            "unread_notifications": SimpleLazyObject(lambda: unread_count(user)) if signed_in else 0,
            # The Browse menu's counts, from the cache (library.catalogue).
            "browse": SimpleLazyObject(browse_counts) if signed_in and rights.may_watch(user) else None,
        },
    }
