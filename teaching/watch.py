"""
What the watch page shows of the teaching layer (library's watch page calls ``watch_context``):
chapters, caption tracks with signed URLs (a speech-to-text draft flagged ``machine_made``, its
label saying "automatic"), the step vocabulary an editor marks chapters from, how the
speech-to-text job went (for those who edit captions), and the API addresses the page's script
(static/js/teaching.js) talks to. Four queries, five for an editor.
"""

from django.urls import reverse

from . import captions
from .models import Caption, Step, Transcription, chapter_list, may_write_chapters


def watch_context(video, user) -> dict:
    kwargs = {"video_uuid": video.uuid}
    tracks = [
        {
            "id": caption.pk,
            "language": caption.language,
            "label": caption.label,
            "machine_made": caption.machine_made,
            "url": captions.signed_url(video.uuid, caption.pk, user.pk),
        }
        for caption in Caption.objects.filter(video=video)
    ]
    can_mark = may_write_chapters(video, user)
    steps = list(Step.objects.filter(category_id=video.category_id)) if video.category_id else []
    transcription = Transcription.objects.filter(video=video).first() if can_mark else None
    return {
        "chapters": chapter_list(video, video.chapters.select_related("step")),
        "captions": tracks,
        "can_mark_chapters": can_mark,
        "transcription": transcription,
        "caption_draft": any(track["machine_made"] for track in tracks),
        "teaching_config": {
            "chapters_url": reverse("api:video_chapters", kwargs=kwargs),
            "comments_url": reverse("api:video_comments", kwargs=kwargs),
            "captions_url": reverse("api:video_captions", kwargs=kwargs),
            "can_mark": can_mark,
            "steps": [{"id": step.pk, "name": step.name, "colour": step.colour} for step in steps],
            "username": user.username,
        },
    }
