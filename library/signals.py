"""Forget the cached synonym table whenever an editor changes it."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import SearchSynonym


@receiver([post_save, post_delete], sender=SearchSynonym)
def synonyms_changed(sender, **kwargs):
    from .search import forget_synonyms

    forget_synonyms()
