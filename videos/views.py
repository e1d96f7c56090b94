"""HTML pages for videos: upload, the watch page, and the uploader's list. Thin: reads via
``Video.objects.visible_to``, and the page scripts talk to the API for everything else."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from library.models import Playlist
from library.playlist_views import playlist_playback

from . import delivery
from .models import Category, Surgeon, Tag, Video, VideoSurgeon


@login_required
def upload_page(request):
    if not request.user.has_perm("videos.upload_video"):
        raise PermissionDenied("Your role may not upload videos.")
    return render(
        request,
        "videos/upload.html",
        {
            "categories": list(Category.objects.values_list("name", flat=True)),
            "tags": list(Tag.objects.values_list("name", flat=True)),
            "surgeons": list(Surgeon.objects.values("id", "name", "specialty")),
            "surgeon_roles": VideoSurgeon.Role.choices,
            "max_bytes": settings.VIDEO_MAX_UPLOAD_BYTES,
            "extensions": settings.VIDEO_EXTENSIONS,
            "accept": ",".join(f".{ext}" for ext in settings.VIDEO_EXTENSIONS),
            "can_create_catalogue": request.user.has_perm("videos.add_tag"),
        },
    )


RELATED_COUNT = 8


def related_videos(video: Video, user, *, limit: int = RELATED_COUNT) -> list[Video]:
    """Published videos ``user`` may see that are related to ``video`` (three queries in all)."""
    related = Video.objects.visible_to(user).published().related_to(video).with_catalogue().with_viewer_state(user)
    return delivery.attach_poster_urls(related[:limit], user)


@login_required
def watch_page(request, video_uuid):
    video = get_object_or_404(Video.objects.visible_to(request.user).with_catalogue(), uuid=video_uuid)
    user = request.user
    user_id = user.pk
    playback = playlist_playback(request, video)
    clip = playback.current if playback else None
    return render(
        request,
        "videos/watch.html",
        {
            "video": video,
            "surgeon_roles": video.video_surgeons.all(),
            "renditions": video.renditions.all(),
            "master_url": reverse("api:hls_master", kwargs={"video_uuid": video.uuid}) if video.is_playable else "",
            "poster_url": delivery.image_url(video.uuid, user_id) if video.has_poster else "",
            "storyboard_url": delivery.image_url(video.uuid, user_id, "storyboard.vtt") if video.has_storyboard else "",
            "api_url": reverse("api:video", kwargs={"video_uuid": video.uuid}),
            "can_edit": video.can_edit(user),
            "can_review": video.can_review(user),
            "preferences": {
                "quality": user.default_quality,
                "speed": user.default_speed,
                "autoplay": user.autoplay_next,
            },
            "playback": playback,
            "clip": clip,
            # Playing all, or the viewer's "autoplay next" preference, moves on by itself.
            "advance_url": playback.advance_url if playback and (playback.play_all or user.autoplay_next) else "",
            "related": related_videos(video, user),
            "my_playlists": list(Playlist.objects.filter(owner=user).order_by("-updated_at", "-id")),
        },
    )


@login_required
def my_uploads_page(request):
    videos = Video.objects.filter(uploader=request.user).with_catalogue()[:200]
    rows = [(video, delivery.image_url(video.uuid, request.user.pk) if video.has_poster else "") for video in videos]
    return render(request, "videos/mine.html", {"videos": videos, "rows": rows})
