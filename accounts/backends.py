"""Sign-in by username or e-mail, case-insensitively; the axes username normaliser."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UsernameOrEmailBackend(ModelBackend):
    """
    Checks the password of the user whose username or e-mail matches, ignoring case.

    Inactive, unapproved and locked accounts *do* authenticate here when the password is
    right, so the sign-in form can say why they may not enter (Django's
    ``confirm_login_allowed`` pattern); :func:`accounts.authentication.login_check`
    refuses them. Sessions of inactive users are still refused by ``get_user``.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        User = get_user_model()
        user = User.objects.by_login(username).first()
        if user is None:
            # Spend the same time as a real check, so timing does not reveal accounts.
            User().set_password(password)
            return None
        if not user.may_use_local_password:
            # LOCAL_LOGIN=False: only superusers keep a local password (break-glass).
            User().set_password(password)
            return None
        if user.check_password(password):
            return user
        return None


def axes_username(request, credentials) -> str | None:
    """
    The name axes counts failures under: the account's canonical username when the typed
    name or e-mail belongs to one, otherwise the typed value lower-cased. So "Alice",
    "alice" and "alice@example.org" share one counter.
    """
    typed = (credentials or {}).get("username")
    if typed is None and request is not None:
        typed = request.POST.get("username") if hasattr(request, "POST") else None
    if not typed:
        return None
    User = get_user_model()
    username = User.objects.by_login(typed).values_list("username", flat=True).first()
    return (username or typed.strip()).lower()
