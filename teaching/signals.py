"""
Warming, not business logic: the header shows the unread notification count on every page
(teaching.services.unread_count, cached per user), so it is read once at sign-in rather than
by whichever page comes first.
"""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .services import unread_count


@receiver(user_logged_in, dispatch_uid="teaching.warm_unread_count")
def warm_unread_count(sender, user, **kwargs):
    unread_count(user)
