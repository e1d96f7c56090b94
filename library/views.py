"""
Library pages: home, history and favourites. Reads go through the shared QuerySets
(``Video.objects.visible_to``), writes through ``library.services``; a constant number of
queries per page whatever its length (tests/test_library_pages.py).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, Sum
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.redirects import safe_next
from videos import delivery
from videos.models import Category, Video, visible_q
from videos.rights import may_watch

from . import services
from .models import Favorite, ViewEvent, WatchProgress


def _videos(user):
    return Video.objects.visible_to(user).with_catalogue().with_viewer_state(user)


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
    visible = visible_q(user, "video__")
    continuing = (
        WatchProgress.objects.filter(visible, user=user, completed=False, position__gt=0)
        .prefetch_related(Prefetch("video", queryset=_videos(user)))
        .order_by("-updated_at")[:8]
    )
    continuing = list(continuing)
    delivery.attach_poster_urls([entry.video for entry in continuing], user)
    published = Video.objects.published_for(user).with_catalogue().with_viewer_state(user)
    categories = cache.get_or_set(HOME_CATEGORIES_CACHE_KEY, _published_categories, 60) if may_watch(user) else []
    favorites = [
        f.video
        for f in Favorite.objects.filter(visible, user=user)
        .prefetch_related(Prefetch("video", queryset=_videos(user)))
        .order_by("-created_at")[:8]
    ]
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
    entries = list(
        WatchProgress.objects.filter(visible_q(user, "video__"), user=user)
        .prefetch_related(Prefetch("video", queryset=_videos(user)))
        .order_by("-updated_at")[:200]
    )
    delivery.attach_poster_urls([entry.video for entry in entries], user)
    total = ViewEvent.objects.filter(user=user).aggregate(total=Sum("seconds_watched"))["total"] or 0
    return render(request, "library/history.html", {"entries": entries, "total_seconds": int(total)})


@require_POST
@login_required
def history_remove(request, video_uuid):
    video = get_object_or_404(Video.objects.visible_to(request.user), uuid=video_uuid)
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
    rows = list(
        Favorite.objects.filter(visible_q(user, "video__"), user=user)
        .prefetch_related(Prefetch("video", queryset=_videos(user)))
        .order_by("-created_at", "-id")[:200]
    )
    delivery.attach_poster_urls([row.video for row in rows], user)
    return render(request, "library/favorites.html", {"rows": rows})


@require_POST
@login_required
def favorite_toggle(request, video_uuid):
    """No-JS fallback for the favourite buttons (the pages use the API from JS)."""
    video = get_object_or_404(Video.objects.visible_to(request.user), uuid=video_uuid)
    if request.POST.get("on") == "1":
        services.favorite_set(user=request.user, video=video)
    else:
        services.favorite_unset(user=request.user, video=video)
    next_url = safe_next(request, request.POST.get("next") or "")
    if next_url:
        return HttpResponseRedirect(next_url)  # a path, never a URL name to reverse
    return redirect("library:favorites")
