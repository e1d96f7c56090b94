"""
Playlist pages: the list (yours and the shared ones) with a create form, a playlist with its
items (edit, delete, remove, move), "play all", and adding videos from the watch page or from
a selection of cards. Reads go through ``Playlist.objects.visible_to`` and
``Video.objects.visible_to``; every write calls ``library.services``, whose
``ValidationError``s come back as form errors and whose ``PermissionDenied`` is a 403.

Someone else's private playlist is a 404 on every page and POST (it is not in ``visible_to``);
a shared one is read-only for everyone but its owner. Pages with scripts save a new order and
add videos through the JSON API (static/js/playlists.js); the forms here are what works
without them. Each page costs a constant number of queries (tests/library/test_playlist_pages.py).
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.forms import ClockField, StyledForm
from core.redirects import safe_next
from videos import delivery
from videos.models import Video

from . import services
from .models import Playlist, PlaylistItem
from .playback import describe_clip, watch_url

# Re-exported for the watch page (videos.views), which imports it from here until it moves to
# library and calls library.playback itself.

SHARE_PERMISSION = "library.share_playlist"


# ------------------------------------------------------------------------------ helpers


def _videos(user):
    return Video.objects.visible_to(user).with_catalogue().with_viewer_state(user)


def _playlist(request, pk) -> Playlist:
    return get_object_or_404(Playlist.objects.visible_to(request.user).select_related("owner"), pk=pk)


def _can_share(user) -> bool:
    return user.has_perm(SHARE_PERMISSION)


# ------------------------------------------------------------------------------ forms


class PlaylistForm(StyledForm):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    is_shared = forms.BooleanField(
        required=False,
        label="Share with all staff",
        help_text="Everyone who signs in can see and play it; only you can change it.",
    )

    def __init__(self, *args, can_share: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_share:
            # Kept (hidden) so that a forged "shared" value reaches the service and is refused
            # with its message, instead of being dropped without a word.
            self.fields["is_shared"].widget = forms.HiddenInput()


class AddToPlaylistForm(StyledForm):
    """Which playlist (or a new one) gets the chosen videos; a clip range for a single video."""

    NEW = "new"

    playlist = forms.CharField(required=False, label="Playlist", widget=forms.Select)
    new_title = forms.CharField(required=False, max_length=200, label="New playlist title")
    start_time = ClockField(required=False, label="Clip start", help_text="Empty: from the beginning.")
    end_time = ClockField(required=False, label="Clip end", help_text="Empty: to the end.")
    note = forms.CharField(required=False, max_length=300, label="Note")

    def __init__(self, *args, playlists, **kwargs):
        self.playlists = {str(p.pk): p for p in playlists}
        super().__init__(*args, **kwargs)
        self.fields["playlist"].widget.choices = [
            ("", "Choose a playlist"),
            *[(key, p.title) for key, p in self.playlists.items()],
            (self.NEW, "New playlist…"),
        ]

    def clean_playlist(self):
        choice = self.cleaned_data["playlist"]
        if choice and choice != self.NEW and choice not in self.playlists:
            # Someone else's playlist, or none at all: the same answer for both.
            raise ValidationError("Choose one of your own playlists.")
        return choice

    def clean(self):
        data = super().clean()
        if "playlist" not in data:
            return data
        choice, title = data["playlist"], (data.get("new_title") or "").strip()
        if choice == self.NEW or (not choice and title):
            if not title:
                self.add_error("new_title", "Give the new playlist a title.")
            data["target"] = None
        elif choice:
            data["target"] = self.playlists[choice]
        else:
            self.add_error("playlist", "Choose a playlist, or give a title for a new one.")
        return data


# ------------------------------------------------------------------------------ list


@login_required
def playlist_list(request: HttpRequest, form: PlaylistForm | None = None) -> HttpResponse:
    user = request.user
    playlists = list(Playlist.objects.listing_for(user))
    for playlist in playlists:
        playlist.cover_url = delivery.image_url(playlist.cover_uuid, user.pk) if playlist.cover_uuid else ""
        playlist.total_seconds = round(playlist.total_seconds)
    return render(
        request,
        "library/playlists.html",
        {
            "mine": [p for p in playlists if p.owner_id == user.pk],
            "shared": [p for p in playlists if p.owner_id != user.pk],
            "form": form or PlaylistForm(can_share=_can_share(user)),
            "can_share": _can_share(user),
        },
        status=400 if form is not None else 200,
    )


@require_POST
@login_required
def playlist_create(request: HttpRequest) -> HttpResponse:
    form = PlaylistForm(request.POST, can_share=_can_share(request.user))
    if form.is_valid():
        try:
            playlist = services.playlist_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Playlist “{playlist.title}” created.")
            return redirect("library:playlist", pk=playlist.pk)
    return playlist_list(request, form=form)


# ------------------------------------------------------------------------------ detail


def _items(playlist: Playlist, user, *, owner: bool) -> list[PlaylistItem]:
    """
    The items in order, each with ``visible_video`` (None when the user may no longer see it),
    ``length``, ``clip_label``, ``is_playable`` and ``url``. Others than the owner only get
    the items they may see; the owner gets all of them, so a new order can name every one.
    """
    items = list(
        PlaylistItem.objects.filter(playlist=playlist)
        .prefetch_related(Prefetch("video", queryset=_videos(user), to_attr="visible_video"))
        .order_by("position", "id")
    )
    if not owner:
        items = [item for item in items if item.visible_video is not None]
    delivery.attach_poster_urls([item.visible_video for item in items if item.visible_video is not None], user)
    for item in items:
        video = item.visible_video
        item.is_playable = video is not None and video.is_playable
        item.url = watch_url(item, video=video) if video is not None else ""
        describe_clip(item, video)
    return items


@login_required
def playlist_detail(request: HttpRequest, pk: int, form: PlaylistForm | None = None) -> HttpResponse:
    user = request.user
    playlist = _playlist(request, pk)
    can_edit = playlist.can_edit(user)
    items = _items(playlist, user, owner=can_edit)
    can_share = _can_share(user) or playlist.is_shared
    return render(
        request,
        "library/playlist.html",
        {
            "playlist": playlist,
            "items": items,
            "visible_count": sum(1 for item in items if item.visible_video is not None),
            "total_seconds": sum(item.length for item in items),
            "playable": any(item.is_playable for item in items),
            "can_edit": can_edit,
            "can_share": can_share,
            "form": form
            or PlaylistForm(
                initial={"title": playlist.title, "description": playlist.description, "is_shared": playlist.is_shared},
                can_share=can_share,
            ),
        },
        status=400 if form is not None else 200,
    )


@require_POST
@login_required
def playlist_edit(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = _playlist(request, pk)
    form = PlaylistForm(request.POST, can_share=_can_share(request.user) or playlist.is_shared)
    if form.is_valid():
        changes = {"title": form.cleaned_data["title"], "description": form.cleaned_data["description"]}
        # Only a change of sharing is checked against the role: an owner who lost the
        # permission can still rename a playlist they shared before.
        if form.cleaned_data["is_shared"] != playlist.is_shared:
            changes["is_shared"] = form.cleaned_data["is_shared"]
        try:
            services.playlist_update(user=request.user, playlist=playlist, **changes)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, "Playlist saved.")
            return redirect("library:playlist", pk=playlist.pk)
    return playlist_detail(request, pk, form=form)


@require_POST
@login_required
def playlist_delete(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = _playlist(request, pk)
    title = playlist.title
    services.playlist_delete(user=request.user, playlist=playlist)
    messages.success(request, f"Playlist “{title}” deleted.")
    return redirect("library:playlists")


@require_POST
@login_required
def playlist_item_remove(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    playlist = _playlist(request, pk)
    item = get_object_or_404(PlaylistItem.objects.select_related("playlist"), pk=item_id, playlist=playlist)
    services.playlist_item_remove(user=request.user, item=item)
    messages.success(request, "Removed from the playlist.")
    return redirect("library:playlist", pk=playlist.pk)


@require_POST
@login_required
def playlist_item_move(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    """Move an item one place up or down (the no-script twin of drag and drop)."""
    playlist = _playlist(request, pk)
    order = list(playlist.items.order_by("position", "id").values_list("pk", flat=True))
    if item_id not in order:
        raise Http404("No such item.")
    step = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if step is None:
        messages.error(request, "Choose to move the item up or down.")
        return redirect("library:playlist", pk=playlist.pk)
    index = order.index(item_id)
    target = index + step
    if not playlist.can_edit(request.user):
        raise PermissionDenied("Only the owner may change this playlist.")
    if 0 <= target < len(order):  # moving the first item up (or the last down) changes nothing
        order[index], order[target] = order[target], order[index]
        services.playlist_reorder(user=request.user, playlist=playlist, order=order)
    return redirect(reverse("library:playlist", kwargs={"pk": playlist.pk}) + f"#item-{item_id}")


# ------------------------------------------------------------------------------ adding videos


def _uuids(values) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            parsed = uuid.UUID(str(value))
        except ValueError:
            continue
        if parsed not in found:
            found.append(parsed)
    return found


@login_required
def playlist_add(request: HttpRequest) -> HttpResponse:
    """
    Add one or more videos (``video``, repeatable) to one of your playlists or to a new one.
    GET (or a POST that needs more input) shows a page to choose the playlist; the watch
    page and the card selection bar post here when scripts are off.
    """
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    wanted = _uuids(source.getlist("video"))
    found = {v.uuid: v for v in Video.objects.visible_to(user).filter(uuid__in=wanted).only("pk", "uuid", "title")}
    videos = [found[key] for key in wanted if key in found]
    mine = list(Playlist.objects.owned_by(user))
    if request.method != "POST":
        form = AddToPlaylistForm(playlists=mine, initial={"playlist": source.get("playlist", "")})
        return _add_page(request, form, videos, status=200)

    form = AddToPlaylistForm(request.POST, playlists=mine)
    if form.is_valid():
        if not videos:
            form.add_error(None, "Select at least one video to add.")
        elif len(videos) > 1 and (
            form.cleaned_data["start_time"] is not None or form.cleaned_data["end_time"] is not None
        ):
            form.add_error(None, "A clip range can only be given when adding one video.")
    if not form.is_valid():
        return _add_page(request, form, videos, status=400)
    data = form.cleaned_data
    playlist = data["target"]
    if playlist is None:
        try:
            playlist = services.playlist_create(user=user, title=data["new_title"])
        except ValidationError as error:
            form.add_service_errors(error)
            return _add_page(request, form, videos, status=400)
    added = 0
    for video in videos:
        try:
            services.playlist_item_add(
                user=user,
                playlist=playlist,
                video=video,
                start_time=data["start_time"],
                end_time=data["end_time"],
                note=data["note"],
            )
        except ValidationError as error:
            messages.error(request, f"“{video.title}” was not added: {' '.join(error.messages)}")
        else:
            added += 1
    if len(wanted) > len(videos):
        messages.error(request, f"{len(wanted) - len(videos)} of the chosen videos could not be found.")
    if added:
        messages.success(request, f"Added {added} video{'s' if added != 1 else ''} to “{playlist.title}”.")
    return HttpResponseRedirect(safe_next(request, fallback=reverse("library:playlist", kwargs={"pk": playlist.pk})))


def _add_page(request, form, videos, *, status: int) -> HttpResponse:
    return render(
        request,
        "library/playlist_add.html",
        {"form": form, "videos": videos, "next": safe_next(request)},
        status=status,
    )


# ------------------------------------------------------------------------------ playing


@login_required
def playlist_play(request: HttpRequest, pk: int) -> HttpResponse:
    """Play all: open the first playable item in play-all mode (the watch page does the rest)."""
    playlist = _playlist(request, pk)
    first = (
        PlaylistItem.objects.filter(playlist=playlist, video__status__in=Video.PLAYABLE)
        .visible_to(request.user)
        .select_related("video")
        .order_by("position", "id")
        .first()
    )
    if first is None:
        messages.info(request, "There is nothing in this playlist you can play yet.")
        return redirect("library:playlist", pk=playlist.pk)
    return redirect(watch_url(first, play=True))
