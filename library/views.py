"""
Library pages: home, history, favourites and the watch page. Reads go through the QuerySets the API uses too
(``WatchProgress.objects.history_for``, ``Favorite.objects.listing_for``, …), writes through
``library.services``; a constant number of queries per page whatever its length
(tests/library/test_pages.py).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.redirects import safe_next
from teaching.watch import watch_context
from videos import delivery
from videos.models import Category, Video
from videos.rights import may_watch

from . import services
from .models import Favorite, Playlist, ViewEvent, WatchProgress
from .playback import playlist_playback

HOME_CATEGORIES_CACHE_KEY = "library:home:categories:v1"


def _published_categories() -> list[Category]:
    """Categories with published videos and their counts (the same for everyone, cached a minute)."""
    return list(
        Category.objects.annotate(count=Count("videos", filter=Q(videos__status=Video.Status.PUBLISHED)))
        .filter(count__gt=0)
        .order_by("name")
    )


@login_required
def home(request):
    user = request.user
    continuing = list(WatchProgress.objects.history_for(user).resumable()[:8])
    delivery.attach_poster_urls([entry.video for entry in continuing], user)
    published = Video.objects.published_for(user).with_catalogue().with_viewer_state(user)
    categories = cache.get_or_set(HOME_CATEGORIES_CACHE_KEY, _published_categories, 60) if may_watch(user) else []
    favorites = [favorite.video for favorite in Favorite.objects.listing_for(user)[:8]]
    return render(
        request,
        "library/home.html",
        {
            "continuing": continuing,
            "recent": delivery.attach_poster_urls(published.order_by("-published_at", "-created_at")[:8], user),
            "popular": delivery.attach_poster_urls(published.order_by("-views", "-created_at")[:8], user),
            "favorites": delivery.attach_poster_urls(favorites, user),
            "categories": categories,
        },
    )


@login_required
def history(request):
    user = request.user
    entries = list(WatchProgress.objects.history_for(user)[:200])
    delivery.attach_poster_urls([entry.video for entry in entries], user)
    total = ViewEvent.objects.seconds_watched_by(user)
    return render(request, "library/history.html", {"entries": entries, "total_seconds": total})


@require_POST
@login_required
def history_remove(request, video_uuid):
    video = Video.objects.visible_or_404(request.user, video_uuid)
    services.history_remove(user=request.user, video_id=video.pk)
    messages.success(request, f"“{video.title}” was removed from your history.")
    return redirect("library:history")


@require_POST
@login_required
def history_clear(request):
    count = services.history_clear(user=request.user)
    messages.success(request, f"Your history is cleared ({count} item{'s' if count != 1 else ''}).")
    return redirect("library:history")


@login_required
def favorites(request):
    user = request.user
    rows = list(Favorite.objects.listing_for(user)[:200])
    delivery.attach_poster_urls([row.video for row in rows], user)
    return render(request, "library/favorites.html", {"rows": rows})


@require_POST
@login_required
def favorite_toggle(request, video_uuid):
    """No-JS fallback for the favourite buttons (the pages use the API from JS)."""
    video = Video.objects.visible_or_404(request.user, video_uuid)
    if request.POST.get("on") == "1":
        services.favorite_set(user=request.user, video=video)
    else:
        services.favorite_unset(user=request.user, video=video)
    next_url = safe_next(request, request.POST.get("next") or "")
    if next_url:
        return HttpResponseRedirect(next_url)  # a path, never a URL name to reverse
    return redirect("library:favorites")


# ------------------------------------------------------------------------------ watching


RELATED_COUNT = 8


def related_videos(video: Video, user, *, limit: int = RELATED_COUNT) -> list[Video]:
    """Published videos ``user`` may see that are related to ``video`` (three queries in all)."""
    return delivery.attach_poster_urls(Video.objects.related_for(video, user)[:limit], user)


@login_required
def watch_page(request, video_uuid):
    """The watch page (``videos:watch``, /videos/<id>/): the player, resume, the playlist being played, related videos."""
    video = Video.objects.with_catalogue().visible_or_404(request.user, video_uuid)
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
            "my_playlists": list(Playlist.objects.owned_by(user)),
            # Chapters, caption tracks, the discussion's addresses (templates/teaching/_watch_panel.html).
            **watch_context(video, user),
        },
    )
