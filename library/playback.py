"""
A watch page opened from a playlist (``?playlist=<id>&item=<id>[&play=1]``): where we are in
the playlist, its items as the side list shows them, and what plays next. A read, not a view:
the watch page calls ``playlist_playback``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.shortcuts import get_object_or_404
from django.urls import reverse

from videos import delivery
from videos.models import Video

from .models import Playlist, PlaylistItem


def clock(seconds: float | None) -> str:
    """Seconds as m:ss or h:mm:ss (as the player shows them)."""
    seconds = max(0, int(seconds or 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def watch_url(item: PlaylistItem, *, video: Video | None = None, play: bool = False) -> str:
    """The watch page of an item, opened from its playlist (``play``: keep playing the next ones)."""
    query = {"playlist": item.playlist_id, "item": item.pk}
    if play:
        query["play"] = 1
    video = video or item.video
    return reverse("videos:watch", kwargs={"video_uuid": video.uuid}) + "?" + urlencode(query)


def describe_clip(item: PlaylistItem, video: Video | None) -> None:
    """Set ``length`` (whole seconds played) and ``clip_label`` ("1:30–2:30", or "" for all of it)."""
    if video is None:
        item.length, item.clip_label = 0, ""
        return
    start = item.start_time or 0
    end = item.end_time if item.end_time is not None else video.duration
    item.length = max(0, round(end - start))
    whole = item.start_time is None and item.end_time is None
    item.clip_label = "" if whole else f"{clock(start)}–{clock(end)}"


@dataclass
class Playback:
    """A watch page opened from a playlist: where we are in it and what comes next."""

    playlist: Playlist
    items: list[PlaylistItem]
    current: PlaylistItem
    next: PlaylistItem | None
    play_all: bool

    @property
    def index(self) -> int:
        return self.items.index(self.current) + 1

    @property
    def next_url(self) -> str:
        return watch_url(self.next, play=self.play_all) if self.next else ""

    @property
    def advance_url(self) -> str:
        """Where the player goes by itself when the item ends (always keeps playing)."""
        return watch_url(self.next, play=True) if self.next else ""


def _number(value) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def playlist_playback(request, video: Video) -> Playback | None:
    """
    The playlist context of a watch page of ``video`` (``?playlist=<id>&item=<id>[&play=1]``),
    or None when the page was not opened from a playlist or the video is not in it.
    """
    return playback_for(
        user=request.user,
        video=video,
        playlist_id=_number(request.GET.get("playlist")),
        item_id=_number(request.GET.get("item")),
        play_all=request.GET.get("play") == "1",
    )


def playback_for(
    *, user, video: Video, playlist_id: int | None, item_id: int | None = None, play_all: bool = False
) -> Playback | None:
    """
    ``video`` played from playlist ``playlist_id`` (at item ``item_id`` when it is there more
    than once), or None when there is no playlist or the video is not in it. A playlist the
    user may not open is a 404, as everywhere else.
    """
    if playlist_id is None:
        return None
    playlist = get_object_or_404(Playlist.objects.visible_to(user), pk=playlist_id)
    items = list(
        PlaylistItem.objects.filter(playlist=playlist)
        .visible_to(user)
        .select_related("video")
        .order_by("position", "id")
    )
    here = [item for item in items if item.video_id == video.pk]
    current = next((item for item in here if item.pk == item_id), here[0] if here else None)
    if current is None:
        return None
    delivery.attach_poster_urls([item.video for item in items], user)
    for item in items:
        item.url = watch_url(item, play=play_all)
        describe_clip(item, item.video)
    after = items[items.index(current) + 1 :]
    following = next((item for item in after if item.video.is_playable), None)
    return Playback(playlist=playlist, items=items, current=current, next=following, play_all=play_all)
