"""
Plumbing, not business logic:

- the header shows the unread notification count on every page (teaching.services.unread_count,
  cached per user), so it is read once at sign-in rather than by whichever page comes first;
- a caption's WebVTT file is removed once the row's deletion is committed, whichever way it
  went (the captions API, or the video deleted through any door: a cascade).
"""

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from videos.models import Video

from . import captions
from .models import Caption
from .services import unread_count


@receiver(user_logged_in, dispatch_uid="teaching.warm_unread_count")
def warm_unread_count(sender, user, **kwargs):
    unread_count(user)


@receiver(post_delete, sender=Caption, dispatch_uid="teaching.remove_caption_file")
def remove_caption_file(sender, instance, **kwargs):
    # A cascade deletes the captions before their video: its row is still there to read.
    video_uuid = Video.objects.filter(pk=instance.video_id).values_list("uuid", flat=True).first()
    caption_id = instance.pk  # Django clears it once the deletion is done
    if video_uuid is not None:
        transaction.on_commit(lambda: captions.remove(video_uuid, caption_id))
