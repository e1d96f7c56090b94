"""
Library API: the video list and search, progress, favourites, history and playlists (DESIGN §7).
A video the caller may not see is a 404 everywhere, and nobody reads or changes another
person's library.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import DetailOutput
from videos.api import serializers as video_serializers
from videos.api.views import VideoListCreateApi
from videos.models import Video

from .. import search, services
from ..models import Favorite, Playlist, PlaylistItem, ViewEvent, WatchProgress
from . import serializers as s

_NO_SUCH_PAGE = OpenApiResponse(DetailOutput, description="No such page")


def _videos_for(user):
    return Video.objects.with_catalogue().with_viewer_state(user)


# GET searches through library.search as the search page does; POST (upload) is videos'.
class VideoListApi(mixins.ListModelMixin, VideoListCreateApi):
    """List the videos you may see (newest first), or upload one (multipart: ``file`` + metadata)."""

    serializer_class = video_serializers.VideoOutput

    @extend_schema(
        parameters=[
            OpenApiParameter(name, kind, required=False, description=text, enum=choices)
            for name, kind, choices, text in [
                (
                    "q",
                    OpenApiTypes.STR,
                    None,
                    "words to find in title, description, transcript, tags, category and surgeons",
                ),
                ("tags", OpenApiTypes.STR, None, "tag names (repeat or comma-separate)"),
                ("tags_mode", OpenApiTypes.STR, ["any", "all"], "any (default) or all"),
                ("surgeons", OpenApiTypes.STR, None, "surgeon ids (repeat or comma-separate)"),
                ("steps", OpenApiTypes.STR, None, "step ids (repeat or comma-separate): videos with such a chapter"),
                ("category", OpenApiTypes.STR, None, "category names"),
                ("duration_min", OpenApiTypes.NUMBER, None, "seconds"),
                ("duration_max", OpenApiTypes.NUMBER, None, "seconds"),
                ("date_from", OpenApiTypes.DATE, None, "date of surgery from"),
                ("date_to", OpenApiTypes.DATE, None, "date of surgery to"),
                ("uploaded_from", OpenApiTypes.DATE, None, "upload date from"),
                ("uploaded_to", OpenApiTypes.DATE, None, "upload date to"),
                ("uploader", OpenApiTypes.STR, None, "username"),
                ("status", OpenApiTypes.STR, list(Video.Status.values), "only videos in this status"),
                ("ordering", OpenApiTypes.STR, list(search.ORDERINGS), "relevance (default: by rank, then newest)"),
                ("facets", OpenApiTypes.STR, ["0", "1"], "0 to leave out facet counts"),
                ("mine", OpenApiTypes.BOOL, None, "true (or 1) for your own uploads only"),
            ]
        ],
        responses={
            200: video_serializers.VideoPageOutput,
            400: OpenApiResponse(DetailOutput, description="A malformed filter (named in the body)"),
            404: OpenApiResponse(DetailOutput, description="No such page"),
        },
    )
    def get(self, request, *args, **kwargs):
        """Search and filter; the response adds ``facets`` (counts for the current query)."""
        return self.list(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        query = request.query_params
        found = search.run(
            user=request.user, params=search.parse_params(query), mine=query.get("mine") in {"1", "true"}
        )
        page = self.paginate_queryset(found)
        rows = self.get_serializer(page, many=True).data
        # Where the query was said (caption cues) or the chosen steps' chapters start (teaching).
        moments = found.moments(page)
        for row, video in zip(rows, page, strict=True):
            row["matches"] = moments.get(video.pk, [])
        response = self.get_paginated_response(rows)
        if query.get("facets") != "0":
            response.data["facets"] = found.facets()
        # The query as searched when a word was taken for a catalogue word ("" otherwise; #15).
        response.data["showing_results_for"] = found.showing_for
        return response


def _progress(video: Video, progress: WatchProgress | None) -> Response:
    """``progress`` in ``video``, or where a first play starts when nothing is kept."""
    if progress is None:
        return Response(
            {"position": 0, "duration": video.duration, "completed": False, "percent": 0, "updated_at": None}
        )
    return Response(s.ProgressOutput(progress).data)


class ProgressApi(APIView):
    """Where the caller is in a video: read it, or save it (every ~10 s while playing)."""

    @extend_schema(responses={200: s.ProgressOutput, 404: DetailOutput})
    def get(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        return _progress(video, WatchProgress.objects.filter(user=request.user, video=video).first())

    @extend_schema(request=s.ProgressInput, responses={200: s.ProgressOutput, 400: DetailOutput, 404: DetailOutput})
    def put(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        data = s.ProgressInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _progress(video, services.progress_save(user=request.user, video=video, **data.validated_data))

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
        video = Video.objects.visible_or_404(request.user, video_uuid)
        if not video.is_playable:
            return Response(
                {"detail": f"The video is not ready to play ({video.get_status_display().lower()})."},
                status=status.HTTP_409_CONFLICT,
            )
        session, counted = services.view_record(user=request.user, video=video)
        video.refresh_from_db(fields=["views"])
        return Response({"counted": counted, "views": video.views})


class FavoriteApi(APIView):
    """Favourite or unfavourite a video; both are idempotent."""

    @extend_schema(request=None, responses={200: s.FavoriteStateOutput, 404: DetailOutput})
    def put(self, request, video_uuid):
        services.favorite_set(user=request.user, video=Video.objects.visible_or_404(request.user, video_uuid))
        return Response({"detail": "Added to favourites.", "is_favorite": True})

    @extend_schema(responses={200: s.FavoriteStateOutput, 404: DetailOutput})
    def delete(self, request, video_uuid):
        services.favorite_unset(user=request.user, video=Video.objects.visible_or_404(request.user, video_uuid))
        return Response({"detail": "Removed from favourites.", "is_favorite": False})


class HistoryApi(generics.ListAPIView):
    """The caller's watch history, most recent first, with the total time watched."""

    serializer_class = s.HistoryEntryOutput

    def get_queryset(self):
        return WatchProgress.objects.history_for(self.request.user)

    @extend_schema(responses={200: s.HistoryPageOutput, 404: _NO_SUCH_PAGE})
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response.data["total_seconds_watched"] = ViewEvent.objects.seconds_watched_by(request.user)
        return response

    @extend_schema(operation_id="history_clear", responses={204: None})
    def delete(self, request):
        services.history_clear(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class HistoryEntryApi(APIView):
    @extend_schema(operation_id="history_entry_destroy", responses={204: None, 404: DetailOutput})
    def delete(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        if not services.history_remove(user=request.user, video_id=video.pk):
            raise NotFound("This video is not in your history.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class FavoriteListApi(generics.ListAPIView):
    """The caller's favourites, most recently favourited first."""

    serializer_class = s.FavoriteOutput

    def get_queryset(self):
        return Favorite.objects.listing_for(self.request.user)

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
            PlaylistItem.objects.filter(playlist=playlist)
            .visible_to(user)
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
