"""
The library around each user: where they are in a video, what they favourited, their
playlists, and the viewing sessions that make up the audit of who watched what.

The reads that pages and the API share are QuerySet methods here (``history_for``,
``listing_for``, ``seconds_watched_by``), so both doors list the same rows in the same order.
"""

from django.conf import settings
from django.db import models
from django.db.models import (
    Q,
    functions,  # noqa: F401 (models.functions below)
)
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from videos.models import Video, visible_q


class _UserVideoQuerySet(models.QuerySet):
    """Rows a user keeps about a video (progress, favourites)."""

    def of(self, user):
        """``user``'s rows on the videos they may see, each ``video`` ready to show (catalogue, viewer state)."""
        shown = Video.objects.with_catalogue().with_viewer_state(user)
        return self.filter(visible_q(user, "video__"), user=user).prefetch_related(
            models.Prefetch("video", queryset=shown)
        )


class WatchProgressQuerySet(_UserVideoQuerySet):
    def history_for(self, user):
        """``user``'s watch history over the videos they may see, last watched first, each ``video`` ready to show."""
        return self.of(user).order_by("-updated_at", "-id")

    def resumable(self):
        """Rows worth resuming ("continue watching"): started, not finished, not started over."""
        return self.filter(completed=False, position__gt=0)


class WatchProgress(models.Model):
    """Where a user is in a video (one row per user and video), for resume and history."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watch_progress")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="watch_progress")
    position = models.FloatField(default=0, help_text="Seconds from the start.")
    duration = models.FloatField(default=0)
    completed = models.BooleanField(default=False)
    first_watched_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = WatchProgressQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "video"], name="progress_user_video_unique"),
            models.CheckConstraint(condition=Q(position__gte=0), name="progress_position_not_negative"),
        ]

    def __str__(self):
        return f"{self.user} at {self.position:.0f}s of {self.video}"

    @property
    def percent(self) -> int:
        if self.completed:
            return 100
        return int(min(100, self.position / self.duration * 100)) if self.duration else 0


class FavoriteQuerySet(_UserVideoQuerySet):
    def listing_for(self, user):
        """``user``'s favourites among the videos they may see, newest first, each ``video`` ready to show."""
        return self.of(user).order_by("-created_at", "-id")


class Favorite(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favorites")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="favorited_by")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = FavoriteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "video"], name="favorite_user_video_unique")]

    def __str__(self):
        return f"{self.user} ♥ {self.video}"


class PlaylistQuerySet(models.QuerySet):
    def listing_for(self, user):
        """
        Playlists ``user`` may open, newest change first, with what a list row shows counted
        over the videos *they* may see: ``item_count``, ``total_seconds`` (clips count their
        stretch) and ``cover_uuid`` (the first visible item with a poster). Pages and API alike.
        """
        visible = Video.objects.visible_to(user).values("pk")
        seen = Q(items__video__in=visible)
        length = Coalesce(models.F("items__end_time"), models.F("items__video__duration")) - Coalesce(
            models.F("items__start_time"), models.Value(0.0)
        )
        cover = PlaylistItem.objects.filter(
            playlist=models.OuterRef("pk"), video__in=visible, video__has_poster=True
        ).order_by("position", "id")
        return (
            self.visible_to(user)
            .select_related("owner")
            .annotate(
                item_count=models.Count("items", filter=seen),
                total_seconds=Coalesce(models.Sum(length, filter=seen), models.Value(0.0)),
                cover_uuid=models.Subquery(cover.values("video__uuid")[:1]),
            )
            .order_by("-updated_at", "-id")
        )

    def owned_by(self, user):
        """``user``'s own playlists (the ones they may add to), newest change first."""
        return self.filter(owner=user).order_by("-updated_at", "-id")

    def visible_to(self, user):
        """The user's own playlists and those shared with all signed-in staff (``library.view_playlist``)."""
        if not (user.is_authenticated and user.is_active and user.has_perm("library.view_playlist")):
            return self.none()
        return self.filter(Q(owner=user) | Q(is_shared=True))


class Playlist(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_shared = models.BooleanField(default=False, help_text="Visible to every signed-in member of staff.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlaylistQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        permissions = [("share_playlist", "Can share playlists with all staff")]

    def __str__(self):
        return self.title

    def can_edit(self, user) -> bool:
        return (
            user.is_authenticated
            and user.has_perm("library.change_playlist")
            and (self.owner_id == user.pk or user.is_superuser)
        )


class PlaylistItemQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Items whose video ``user`` may see (the others stay in the playlist, unseen)."""
        return self.filter(visible_q(user, "video__"))


class PlaylistItem(models.Model):
    """A video in a playlist, optionally only a stretch of it (a teaching reel of key steps)."""

    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="playlist_items")
    position = models.PositiveIntegerField(default=0)
    start_time = models.FloatField(null=True, blank=True, help_text="Seconds; empty = from the start.")
    end_time = models.FloatField(null=True, blank=True, help_text="Seconds; empty = to the end.")
    note = models.CharField(max_length=300, blank=True)
    added_at = models.DateTimeField(default=timezone.now)

    objects = PlaylistItemQuerySet.as_manager()

    class Meta:
        ordering = ["playlist", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_time__isnull=True)
                | Q(end_time__isnull=True)
                | Q(end_time__gt=models.F("start_time")),
                name="playlist_item_clip_order",
            ),
        ]

    def __str__(self):
        return f"{self.playlist}: {self.video}"


class ViewEventQuerySet(models.QuerySet):
    def seconds_watched_by(self, user) -> int:
        """Everything ``user`` has watched, in whole seconds (rounded), over every viewing session."""
        return round(self.filter(user=user).aggregate(total=models.Sum("seconds_watched"))["total"] or 0)


class ViewEvent(models.Model):
    """
    One viewing session (not one row per segment or reload): opened when a user starts a
    video, extended by progress saves, counted once in ``Video.views`` per user and window.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="view_events")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="view_events")
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    seconds_watched = models.FloatField(default=0)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = ViewEventQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "viewing session"
        indexes = [models.Index(fields=["user", "video", "-last_seen_at"], name="view_user_video_idx")]

    def __str__(self):
        return f"{self.user} watched {self.video} at {self.started_at:%Y-%m-%d %H:%M}"


class SearchSynonym(models.Model):
    """
    Words or phrases that mean the same to the search: a query containing any one of them
    also finds the others ("phaco" finds "phacoemulsification" and "cataract"). Editors keep
    the list in admin; ``library.search`` reads it through the shared cache.
    """

    term = models.CharField(max_length=80, help_text="The main word or phrase, e.g. “cataract”.")
    synonyms = models.TextField(
        help_text="Comma-separated words or phrases that mean the same, e.g. “lens, phaco, phacoemulsification”."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["term"]
        verbose_name = "search synonym"
        constraints = [models.UniqueConstraint(Lower("term"), name="synonym_term_ci_unique")]

    def __str__(self):
        return f"{self.term} → {self.synonyms}"

    def group(self) -> list[str]:
        """The term and its synonyms, normalised (lower case, single spaces), without repeats."""
        members = [self.term, *self.synonyms.split(",")]
        return list(dict.fromkeys(" ".join(m.lower().split()) for m in members if m.strip()))


def viewer_state(user) -> dict:
    """
    What ``Video.objects.with_viewer_state(user)`` annotates for the library (registered in
    ``LibraryConfig.ready``): ``is_favorite``, the resume ``position`` and ``watch_completed``.
    """
    progress = WatchProgress.objects.filter(user=user, video=models.OuterRef("pk"))
    return {
        "is_favorite": models.Exists(Favorite.objects.filter(user=user, video=models.OuterRef("pk"))),
        "position": models.Subquery(progress.values("position")[:1]),
        "watch_completed": models.Subquery(progress.values("completed")[:1]),
    }
