"""Keep ``Video.search_terms`` in step when tags, surgeons or a category change anywhere (admin included)."""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import Signal, receiver

from . import search_index
from .models import Category, Surgeon, Tag, Video, VideoSurgeon

# Sent (sender=Video) by the transcode when a video's ladder is complete and about to be
# recorded, inside that transaction, before it decides whether the video publishes itself:
# ``video`` (locked), ``token`` (the job's), ``first`` (no ladder was served before). Apps
# above videos hook their own jobs on it (privacy: the scan); what they block goes through
# review.register_publish_check.
ladder_complete = Signal()


@receiver(post_save, sender=Video)
def video_saved(sender, instance, created, update_fields=None, raw=False, **kwargs):
    if raw or (update_fields is not None and "category" not in update_fields):
        return
    search_index.refresh([instance.pk])


@receiver(m2m_changed, sender=Video.tags.through)
def video_tags_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        search_index.refresh([instance.pk])
    elif pk_set:
        search_index.refresh(pk_set)
    else:  # tag.videos.clear(): the videos are no longer linked, so look for the name instead
        search_index.refresh(Video.objects.filter(search_terms__icontains=instance.name).values_list("pk", flat=True))


@receiver([post_save, post_delete], sender=VideoSurgeon)
def video_surgeon_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        search_index.refresh([instance.video_id])


@receiver(post_save, sender=Tag)
@receiver(post_save, sender=Category)
@receiver(post_save, sender=Surgeon)
def name_saved(sender, instance, created, raw=False, **kwargs):
    if not raw and not created:
        search_index.refresh(instance.videos.values_list("pk", flat=True))


@receiver(pre_delete, sender=Tag)
@receiver(pre_delete, sender=Category)
@receiver(pre_delete, sender=Surgeon)
def name_deleting(sender, instance, **kwargs):
    # The links vanish with the row: remember the videos now, refresh them once it is gone.
    instance._search_video_ids = list(instance.videos.values_list("pk", flat=True))


@receiver(post_delete, sender=Tag)
@receiver(post_delete, sender=Category)
@receiver(post_delete, sender=Surgeon)
def name_deleted(sender, instance, **kwargs):
    search_index.refresh(getattr(instance, "_search_video_ids", []))
