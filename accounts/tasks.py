"""django-q2 entry points for accounts: load by id, call the service."""

from django.contrib.auth import get_user_model


def send_notice(*, user_id: int, template: str, subject: str, context: dict) -> None:
    from .services import notice_send

    user = get_user_model().objects.filter(pk=user_id).first()
    if user is not None:
        notice_send(user=user, template=template, subject=subject, context=context)


def directory_check() -> dict:
    """Scheduled hourly (accounts/migrations/0009): deactivate accounts whose directory entry is gone or disabled."""
    from .directory import directory_check as check

    return check()
