"""
Library API: progress, favourites, history and playlists (DESIGN §7). A video the caller may
not see is a 404 everywhere, and nobody reads or changes another person's library.
"""

from django.db.models import Prefetch, Sum
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import DetailOutput
from core.network import client_ip
from videos.models import Video

from .. import services
from ..models import Favorite, Playlist, PlaylistItem, ViewEvent, WatchProgress
from . import serializers as s

_NO_SUCH_PAGE = OpenApiResponse(DetailOutput, description="No such page")


def _video(request, video_uuid) -> Video:
    return get_object_or_404(Video.objects.visible_to(request.user), uuid=video_uuid)


def _videos_for(user):
    return Video.objects.with_catalogue().with_viewer_state(user)


class ProgressApi(APIView):
    """Where the caller is in a video: read it, or save it (every ~10 s while playing)."""

    @extend_schema(responses={200: s.ProgressOutput, 404: DetailOutput})
    def get(self, request, video_uuid):
        video = _video(request, video_uuid)
        progress = WatchProgress.objects.filter(user=request.user, video=video).first()
        if progress is None:
            return Response(
                {"position": 0, "duration": video.duration, "completed": False, "percent": 0, "updated_at": None}
            )
        return Response(s.ProgressOutput(progress).data)

    @extend_schema(request=s.ProgressInput, responses={200: s.ProgressOutput, 400: DetailOutput, 404: DetailOutput})
    def put(self, request, video_uuid):
        video = _video(request, video_uuid)
        data = s.ProgressInput(data=request.data)
        data.is_valid(raise_exception=True)
        progress = services.progress_save(user=request.user, video=video, **data.validated_data)
        if progress is None:
            return Response(
                {"position": 0, "duration": video.duration, "completed": False, "percent": 0, "updated_at": None}
            )
        return Response(s.ProgressOutput(progress).data)

    post = put  # navigator.sendBeacon can only POST


class ViewStartApi(APIView):
    """
    The player reports that playback started: a viewing session begins (or the current one,
    within ``VIEW_WINDOW_HOURS``, continues) and a new one counts a view. Fetching a page or a
    playlist counts nothing, so a cross-site link cannot forge "who watched".
    """

    @extend_schema(
        request=None,
        responses={
            200: s.ViewStartOutput,
            404: DetailOutput,
            409: OpenApiResponse(DetailOutput, description="The video is not ready to play"),
        },
    )
    def post(self, request, video_uuid):
        video = _video(request, video_uuid)
        if not video.is_playable:
            return Response(
                {"detail": f"The video is not ready to play ({video.get_status_display().lower()})."},
                status=status.HTTP_409_CONFLICT,
            )
        session, counted = services.view_record(user=request.user, video=video, ip_address=client_ip(request._request))
        video.refresh_from_db(fields=["views"])
        return Response({"counted": counted, "views": video.views})


class FavoriteApi(APIView):
    """Favourite or unfavourite a video; both are idempotent."""

    @extend_schema(request=None, responses={200: s.FavoriteStateOutput, 404: DetailOutput})
    def put(self, request, video_uuid):
        services.favorite_set(user=request.user, video=_video(request, video_uuid))
        return Response({"detail": "Added to favourites.", "is_favorite": True})

    @extend_schema(responses={200: s.FavoriteStateOutput, 404: DetailOutput})
    def delete(self, request, video_uuid):
        services.favorite_unset(user=request.user, video=_video(request, video_uuid))
        return Response({"detail": "Removed from favourites.", "is_favorite": False})


class HistoryApi(generics.ListAPIView):
    """The caller's watch history, most recent first, with the total time watched."""

    serializer_class = s.HistoryEntryOutput

    def get_queryset(self):
        user = self.request.user
        visible = Video.objects.visible_to(user).values("pk")
        return (
            WatchProgress.objects.filter(user=user, video__in=visible)
            .select_related(None)
            .prefetch_related(Prefetch("video", queryset=_videos_for(user)))
            .order_by("-updated_at")
        )

    @extend_schema(responses={200: s.HistoryPageOutput, 404: _NO_SUCH_PAGE})
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        total = ViewEvent.objects.filter(user=request.user).aggregate(total=Sum("seconds_watched"))["total"] or 0
        response.data["total_seconds_watched"] = round(total)
        return response

    @extend_schema(operation_id="history_clear", responses={204: None})
    def delete(self, request):
        services.history_clear(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class HistoryEntryApi(APIView):
    @extend_schema(operation_id="history_entry_destroy", responses={204: None, 404: DetailOutput})
    def delete(self, request, video_uuid):
        video = _video(request, video_uuid)
        if not services.history_remove(user=request.user, video_id=video.pk):
            raise NotFound("This video is not in your history.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class FavoriteListApi(generics.ListAPIView):
    """The caller's favourites, most recently favourited first."""

    serializer_class = s.FavoriteOutput

    def get_queryset(self):
        user = self.request.user
        visible = Video.objects.visible_to(user).values("pk")
        return (
            Favorite.objects.filter(user=user, video__in=visible)
            .prefetch_related(Prefetch("video", queryset=_videos_for(user)))
            .order_by("-created_at", "-id")
        )

    @extend_schema(responses={200: s.FavoriteOutput(many=True), 404: _NO_SUCH_PAGE})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _playlists(user):
    return Playlist.objects.listing_for(user)


def _playlist(request, playlist_id, *, for_edit=False) -> Playlist:
    playlist = get_object_or_404(_playlists(request.user), pk=playlist_id)
    if for_edit and not playlist.can_edit(request.user):
        # Someone else's shared playlist: visible but read-only. Private ones are 404 above.
        from rest_framework.exceptions import PermissionDenied

        raise PermissionDenied("Only the owner may change this playlist.")
    return playlist


class PlaylistListApi(generics.ListAPIView):
    """Your playlists and the ones shared with all staff; POST creates one."""

    serializer_class = s.PlaylistOutput

    def get_queryset(self):
        playlists = _playlists(self.request.user)
        if self.request.query_params.get("mine") in {"1", "true"}:
            playlists = playlists.filter(owner=self.request.user)
        return playlists

    @extend_schema(
        parameters=[OpenApiParameter("mine", OpenApiTypes.BOOL, description="true (or 1) for your own playlists only")],
        responses={200: s.PlaylistOutput(many=True), 404: _NO_SUCH_PAGE},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PlaylistInput, responses={201: s.PlaylistOutput, 400: DetailOutput})
    def post(self, request):
        data = s.PlaylistInput(data=request.data)
        data.is_valid(raise_exception=True)
        playlist = services.playlist_create(user=request.user, **data.validated_data)
        playlist = _playlist(request, playlist.pk)
        return Response(s.PlaylistOutput(playlist, context={"request": request}).data, status=status.HTTP_201_CREATED)


class PlaylistDetailApi(APIView):
    @extend_schema(responses={200: s.PlaylistOutput, 404: DetailOutput})
    def get(self, request, playlist_id):
        return Response(s.PlaylistOutput(_playlist(request, playlist_id), context={"request": request}).data)

    @extend_schema(
        request=s.PlaylistInput,
        responses={200: s.PlaylistOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def patch(self, request, playlist_id):
        playlist = _playlist(request, playlist_id, for_edit=True)
        data = s.PlaylistInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.playlist_update(user=request.user, playlist=playlist, **data.validated_data)
        return Response(s.PlaylistOutput(_playlist(request, playlist_id), context={"request": request}).data)

    @extend_schema(responses={204: None, 403: DetailOutput, 404: DetailOutput})
    def delete(self, request, playlist_id):
        services.playlist_delete(user=request.user, playlist=_playlist(request, playlist_id, for_edit=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PlaylistItemsApi(generics.ListAPIView):
    """The items of a playlist in order (videos you may no longer see are left out)."""

    serializer_class = s.PlaylistItemOutput
    pagination_class = None

    def get_queryset(self):
        user = self.request.user
        playlist = _playlist(self.request, self.kwargs["playlist_id"])
        return (
            PlaylistItem.objects.filter(playlist=playlist, video__in=Video.objects.visible_to(user).values("pk"))
            .prefetch_related(Prefetch("video", queryset=_videos_for(user)))
            .order_by("position", "id")
        )

    @extend_schema(responses={200: s.PlaylistItemOutput(many=True), 404: DetailOutput})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=s.PlaylistItemInput,
        responses={201: s.PlaylistItemOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def post(self, request, playlist_id):
        playlist = _playlist(request, playlist_id, for_edit=True)
        data = s.PlaylistItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        video = Video.objects.visible_to(request.user).filter(uuid=values.pop("video")).first()
        if video is None:
            from django.core.exceptions import ValidationError

            raise ValidationError({"video": "No such video."})
        item = services.playlist_item_add(user=request.user, playlist=playlist, video=video, **values)
        item = PlaylistItem.objects.prefetch_related(Prefetch("video", queryset=_videos_for(request.user))).get(
            pk=item.pk
        )
        return Response(s.PlaylistItemOutput(item, context={"request": request}).data, status=status.HTTP_201_CREATED)


class PlaylistItemApi(APIView):
    @extend_schema(responses={204: None, 403: DetailOutput, 404: DetailOutput})
    def delete(self, request, playlist_id, item_id):
        playlist = _playlist(request, playlist_id, for_edit=True)
        item = get_object_or_404(PlaylistItem, pk=item_id, playlist=playlist)
        services.playlist_item_remove(user=request.user, item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PlaylistReorderApi(APIView):
    @extend_schema(
        request=s.ReorderInput, responses={200: DetailOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput}
    )
    def post(self, request, playlist_id):
        playlist = _playlist(request, playlist_id, for_edit=True)
        data = s.ReorderInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.playlist_reorder(user=request.user, playlist=playlist, order=data.validated_data["order"])
        return Response({"detail": "Order saved."})
