"""
Videos API (DESIGN §7) and the protected media endpoints.

Reads use ``Video.objects.visible_to(user)`` (someone who may not see a video gets 404,
never 403, so ids do not leak); writes call ``videos.services``. Variant playlists,
segments and images are plain Django views authorised by signed tokens alone: no session,
no database query.
"""

from pathlib import Path

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import NotAuthenticated, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import DetailOutput
from library.search import ORDERINGS

from .. import delivery, ingest, services
from ..ingest import HashingUploadHandler
from ..models import Category, Surgeon, Tag, Video
from . import serializers as s


def _visible_video(request, video_uuid) -> Video:
    videos = Video.objects.visible_to(request.user).with_catalogue().with_viewer_state(request.user)
    return get_object_or_404(videos, uuid=video_uuid)


class VideoListCreateApi(generics.ListAPIView):
    """List the videos you may see (newest first), or upload one (multipart: ``file`` + metadata)."""

    serializer_class = s.VideoOutput
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (the session's CSRF check may, before the permission
        # is known): stream the one ``file`` part to disk and hash it on the way, once
        # services.upload_admit has accepted the sender, the free space and the quota.
        if request.method == "POST":
            request.upload_handlers = [
                HashingUploadHandler(
                    request, admit=lambda user, length: services.upload_admit(user=user, length=length, folder="tmp")
                )
            ]
        return super().initialize_request(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # Whatever happened (a refusal before the view ran, a bad file, a 500), no part
            # of the body stays on disk unless it became a video.
            ingest.discard_received(request)

    def get_queryset(self):
        from library import search

        user = self.request.user
        self.search_params = search.parse_params(self.request.query_params)
        videos = search.search_videos(user=user, params=self.search_params)
        self.mine = self.request.query_params.get("mine") in {"1", "true"}
        if self.mine:
            videos = videos.filter(uploader=user)
        return videos

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
                ("category", OpenApiTypes.STR, None, "category names"),
                ("duration_min", OpenApiTypes.NUMBER, None, "seconds"),
                ("duration_max", OpenApiTypes.NUMBER, None, "seconds"),
                ("date_from", OpenApiTypes.DATE, None, "date of surgery from"),
                ("date_to", OpenApiTypes.DATE, None, "date of surgery to"),
                ("uploaded_from", OpenApiTypes.DATE, None, "upload date from"),
                ("uploaded_to", OpenApiTypes.DATE, None, "upload date to"),
                ("uploader", OpenApiTypes.STR, None, "username"),
                ("status", OpenApiTypes.STR, list(Video.Status.values), "only videos in this status"),
                ("ordering", OpenApiTypes.STR, list(ORDERINGS), "relevance (default: by rank, then newest)"),
                ("facets", OpenApiTypes.STR, ["0", "1"], "0 to leave out facet counts"),
                ("mine", OpenApiTypes.BOOL, None, "true (or 1) for your own uploads only"),
            ]
        ],
        responses={
            200: s.VideoPageOutput,
            400: OpenApiResponse(DetailOutput, description="A malformed filter (named in the body)"),
            404: OpenApiResponse(DetailOutput, description="No such page"),
        },
    )
    def get(self, request, *args, **kwargs):
        """Search and filter; the response adds ``facets`` (counts for the current query)."""
        return self.list(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        from library import search

        matched = search.read_matches(self.get_queryset(), user=request.user, params=self.search_params)
        page = self.paginate_queryset(
            search.decorate(
                matched,
                lambda videos: (
                    videos.select_related("category", "uploader")
                    .prefetch_related(*Video.objects.with_catalogue()._prefetch_related_lookups)
                    .with_viewer_state(request.user)
                ),
            )
        )
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        if request.query_params.get("facets") != "0":
            # Shared counts are keyed by the search parameters; "mine" is not one of them.
            shared = None if self.mine else self.search_params
            response.data["facets"] = search.facets(matched, user=request.user, params=shared)
        return response

    @extend_schema(
        request={"multipart/form-data": s.VideoUploadInput},
        responses={
            201: s.VideoUploadOutput,
            200: OpenApiResponse(
                s.VideoUploadOutput,
                description="Identical content already in the library: the existing video, with duplicate=true",
            ),
            400: DetailOutput,
            403: DetailOutput,
        },
    )
    def post(self, request):
        if not request.user.has_perm("videos.upload_video"):
            raise PermissionDenied("Your role may not upload videos.")
        upload = request.FILES.get("file")
        refusal = getattr(request._request, "upload_refusal", None)
        if isinstance(refusal, services.QuotaExceeded):
            refusal.record(user=request.user, request=request)
        if refusal is not None:
            raise refusal
        try:
            if getattr(request._request, "upload_too_large", False):
                raise ValidationError({"file": ["The file is larger than the upload limit."]})
            if upload is None:
                raise ValidationError({"file": ["Attach the recording as the multipart field “file”."]})
            data = s.VideoMetadataInput(data=request.data)
            data.is_valid(raise_exception=True)
            path = Path(upload.temporary_file_path())
            upload.close()
            try:
                video = services.video_create_from_file(
                    request=request,
                    user=request.user,
                    path=path,
                    filename=upload.name,
                    md5=upload.md5,
                    size=upload.size,
                    metadata=dict(data.validated_data),
                )
            except services.DuplicateVideo as duplicate:
                video = _visible_video(request, duplicate.video.uuid)
                return Response({**s.VideoDetailOutput(video, context={"request": request}).data, "duplicate": True})
        finally:
            ingest.discard_received(request._request)
        video = _visible_video(request, video.uuid)
        body = {**s.VideoDetailOutput(video, context={"request": request}).data, "duplicate": False}
        return Response(body, status=status.HTTP_201_CREATED)


class VideoDetailApi(APIView):
    """One video: read, edit metadata (owner or editor), delete."""

    @extend_schema(responses={200: s.VideoDetailOutput, 404: DetailOutput})
    def get(self, request, video_uuid):
        video = _visible_video(request, video_uuid)
        return Response(s.VideoDetailOutput(video, context={"request": request}).data)

    @extend_schema(
        request=s.VideoMetadataInput,
        responses={200: s.VideoDetailOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def patch(self, request, video_uuid):
        video = _visible_video(request, video_uuid)
        data = s.VideoMetadataInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.video_update(request=request, user=request.user, video=video, **data.validated_data)
        return Response(s.VideoDetailOutput(_visible_video(request, video_uuid), context={"request": request}).data)

    @extend_schema(responses={204: None, 403: DetailOutput, 404: DetailOutput})
    def delete(self, request, video_uuid):
        video = _visible_video(request, video_uuid)
        services.video_delete(request=request, user=request.user, video=video)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoRelatedApi(APIView):
    """Published videos you may see sharing tags, surgeons or the category with this one (up to 8)."""

    @extend_schema(responses={200: s.VideoOutput(many=True), 404: DetailOutput})
    def get(self, request, video_uuid):
        video = _visible_video(request, video_uuid)
        related = (
            Video.objects.visible_to(request.user)
            .published()
            .related_to(video)
            .with_catalogue()
            .with_viewer_state(request.user)[:8]
        )
        return Response(s.VideoOutput(related, many=True, context={"request": request}).data)


class _WorkflowApi(APIView):
    action = ""

    def perform(self, request, video):  # pragma: no cover (overridden)
        raise NotImplementedError

    @extend_schema(
        request=None, responses={200: s.VideoDetailOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput}
    )
    def post(self, request, video_uuid):
        video = _visible_video(request, video_uuid)
        self.perform(request, video)
        return Response(s.VideoDetailOutput(_visible_video(request, video_uuid), context={"request": request}).data)


class VideoPublishApi(_WorkflowApi):
    def perform(self, request, video):
        services.video_publish(request=request, user=request.user, video=video)


class VideoArchiveApi(_WorkflowApi):
    def perform(self, request, video):
        services.video_archive(request=request, user=request.user, video=video)


class VideoReprocessApi(_WorkflowApi):
    def perform(self, request, video):
        services.video_reprocess(request=request, user=request.user, video=video)


class VideoResubmitApi(_WorkflowApi):
    """Send a rejected video back for review (owner or editor); published at once without approval."""

    def perform(self, request, video):
        services.video_resubmit(request=request, user=request.user, video=video)


class VideoRejectApi(_WorkflowApi):
    @extend_schema(
        request=s.RejectInput,
        responses={200: s.VideoDetailOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def post(self, request, video_uuid):
        return super().post(request, video_uuid)

    def perform(self, request, video):
        data = s.RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.video_reject(request=request, user=request.user, video=video, reason=data.validated_data["reason"])


class HlsMasterApi(APIView):
    """
    The master playlist, with every variant URI signed for the caller. Authenticate with a
    session, a JWT, or the ``token`` of a signed ``hls_url`` (for players that cannot send headers).
    """

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, required=False)],
        responses={
            (200, "application/vnd.apple.mpegurl"): OpenApiTypes.STR,
            401: DetailOutput,
            404: DetailOutput,
            409: DetailOutput,
        },
    )
    def get(self, request, video_uuid):
        user = request.user
        token = request.query_params.get("token")
        if not user.is_authenticated and token:
            grant = delivery.verify(token, scope="master", video_uuid=video_uuid)
            if grant is None:
                raise NotAuthenticated("The playlist link has expired or is not valid.")
            user = _playback_user(grant)
            if user is None:
                raise NotAuthenticated("The playlist link is no longer valid. Open the video again for a new one.")
        if not user.is_authenticated:
            raise NotAuthenticated()
        video = get_object_or_404(Video.objects.visible_to(user), uuid=video_uuid)
        if not video.is_playable:
            return Response(
                {"detail": f"The video is not ready to play ({video.get_status_display().lower()})."},
                status=status.HTTP_409_CONFLICT,
            )
        # No view is counted here: fetching a playlist is not watching (a page that merely
        # loads, or a cross-site link, would forge "who watched"). The player reports the
        # start of playback (POST videos/<id>/views/).
        return delivery.playlist_response(delivery.master_playlist(video, user))


def _playback_user(grant: delivery.Grant):
    """
    The user a ``master`` or ``key`` token was signed for, if they may still play anything:
    active, approved, not locked, not asked to change their password, and with the same
    security stamp as when the token was signed. None otherwise.
    """
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=grant.user_id, is_active=True).first()
    if user is None or user.is_admin_locked or not user.is_approved or user.needs_password_change:
        return None
    return user if delivery.grant_matches(grant, user) else None


# ------------------------------------------------------------------------------ media (no database)
# Plain Django views, for speed: no DRF request, no authentication classes. drf-spectacular only
# describes DRF views, which it recognises by the ``cls`` attribute APIView.as_view() sets; each
# view below is given a ``cls`` that only describes it (requests never reach that class).


def _described_by(schema_view):
    def decorate(view):
        view.cls, view.initkwargs = schema_view, {}
        return view

    return decorate


_MEDIA_TOKEN = OpenApiParameter(
    "token",
    OpenApiTypes.STR,
    required=True,
    description="The token signed into the URL that the video, its master playlist or its variant playlist gave.",
)
# Segments and images are answered by videos.middleware.MediaFastPathMiddleware, whose 404 is plain text.
_FAST_PATH_404 = {(404, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="No such file (fast path)")}
_MEDIA_REFUSED = {
    (401, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="No token, or a forged, foreign or expired one"),
    (404, "application/json"): OpenApiResponse(DetailOutput, description="No such file"),
}


class _MediaSchema(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class _HlsVariantSchema(_MediaSchema):
    @extend_schema(
        operation_id="videos_hls_variant",
        summary="A variant playlist, its segment and key URIs signed",
        parameters=[_MEDIA_TOKEN],
        responses={(200, delivery.PLAYLIST_TYPE): OpenApiTypes.STR, **_MEDIA_REFUSED},
    )
    def get(self, request, video_uuid, rung):  # pragma: no cover (documentation only)
        raise NotImplementedError


class _HlsSegmentSchema(_MediaSchema):
    @extend_schema(
        operation_id="videos_hls_segment",
        summary="An encrypted MPEG-TS segment",
        parameters=[_MEDIA_TOKEN],
        responses={(200, "video/mp2t"): OpenApiTypes.BINARY, **_MEDIA_REFUSED, **_FAST_PATH_404},
    )
    def get(self, request, video_uuid, rung, segment):  # pragma: no cover (documentation only)
        raise NotImplementedError


class _VideoImageSchema(_MediaSchema):
    @extend_schema(
        operation_id="videos_media",
        summary="The poster, the storyboard sprite or its WebVTT cues",
        parameters=[
            _MEDIA_TOKEN,
            OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=sorted(delivery.IMAGE_FILES)),
        ],
        responses={
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "text/vtt"): OpenApiTypes.STR,
            **_MEDIA_REFUSED,
            **_FAST_PATH_404,
        },
    )
    def get(self, request, video_uuid, name):  # pragma: no cover (documentation only)
        raise NotImplementedError


class _HlsKeySchema(_MediaSchema):
    @extend_schema(
        operation_id="videos_hls_key",
        summary="The AES-128 key of the video's segments (16 bytes)",
        parameters=[_MEDIA_TOKEN],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **_MEDIA_REFUSED},
    )
    def get(self, request, video_uuid):  # pragma: no cover (documentation only)
        raise NotImplementedError


def _grant(request, video_uuid, scope):
    grant = delivery.verify(request.GET.get("token"), scope=scope, video_uuid=video_uuid)
    if grant is None:
        response = HttpResponse(
            "Not authorised: the link has expired or is not valid.\n", status=401, content_type="text/plain"
        )
        response["Cache-Control"] = "no-store"
        return None, response
    return grant, None


@_described_by(_HlsVariantSchema)
@require_GET
def hls_variant(request, video_uuid, rung):
    grant, refused = _grant(request, video_uuid, "media")
    if refused:
        return refused
    text = delivery.variant_playlist(video_uuid=video_uuid, rung=rung, grant=grant, media_token=request.GET["token"])
    return delivery.playlist_response(text)


@_described_by(_HlsSegmentSchema)
@require_GET
def hls_segment(request, video_uuid, rung, segment):
    grant, refused = _grant(request, video_uuid, "media")
    if refused:
        return refused
    if not delivery.RUNG_NAME.match(rung) or not delivery.SEGMENT_NAME.match(segment):
        raise Http404("Not found")
    return delivery.file_response(f"hls/{video_uuid}/{rung}/{segment}", content_type="video/mp2t")


@_described_by(_VideoImageSchema)
@require_GET
def video_image(request, video_uuid, name):
    grant, refused = _grant(request, video_uuid, "image")
    if refused:
        return refused
    content_type = delivery.IMAGE_FILES.get(name)
    if content_type is None:
        raise Http404("Not found")
    if name == "storyboard.vtt":
        return _storyboard_vtt(request, video_uuid, grant)
    return delivery.file_response(f"hls/{video_uuid}/{name}", content_type=content_type)


def _storyboard_vtt(request, video_uuid, grant):
    """The cue file, with its sprite URL signed so the player can fetch it."""
    from pathlib import Path

    from django.conf import settings

    path = Path(settings.MEDIA_ROOT) / "hls" / str(video_uuid) / "storyboard.vtt"
    if not path.is_file():
        raise Http404("Not found")

    sprite = delivery.image_url(video_uuid, grant.user_id, "storyboard.jpg", parent=grant)
    text = path.read_text().replace("storyboard.jpg#", f"{sprite}#")
    response = HttpResponse(text, content_type="text/vtt")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@_described_by(_HlsKeySchema)
@require_GET
def hls_key(request, video_uuid):
    """The AES key: token of scope ``key`` *and* a fresh check that the user may still see the video."""
    grant, refused = _grant(request, video_uuid, "key")
    if refused:
        return refused
    user = _playback_user(grant)
    if user is None:
        raise Http404("Not found")
    video = Video.objects.visible_to(user).playable().filter(uuid=video_uuid).only("hls_key").first()
    if video is None or not video.hls_key:
        raise Http404("Not found")
    response = HttpResponse(bytes(video.hls_key), content_type="application/octet-stream")
    response["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------------ catalogue


class _CatalogueApi(generics.ListAPIView):
    pagination_class = None
    model = None
    input_class = None

    def get_queryset(self):
        return self.model.objects.all()

    def post(self, request):
        if not request.user.has_perm(f"videos.add_{self.model._meta.model_name}"):
            raise PermissionDenied("Only editors may add to the catalogue.")
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.catalogue_add(model=self.model, user=request.user, request=request, **data.validated_data)
        return Response(self.serializer_class(item).data, status=status.HTTP_201_CREATED)


def _catalogue_schema(view):
    return extend_schema_view(
        post=extend_schema(
            request=view.input_class,
            responses={
                201: OpenApiResponse(view.serializer_class, description="Added (or the existing entry of that name)"),
                400: DetailOutput,
                403: OpenApiResponse(DetailOutput, description="Only editors may add to the catalogue"),
            },
        )
    )(view)


@_catalogue_schema
class TagListApi(_CatalogueApi):
    model, serializer_class, input_class = Tag, s.TagOutput, s.TagInput


@_catalogue_schema
class CategoryListApi(_CatalogueApi):
    model, serializer_class, input_class = Category, s.CategoryOutput, s.CategoryInput


@_catalogue_schema
class SurgeonListApi(_CatalogueApi):
    model, serializer_class, input_class = Surgeon, s.SurgeonOutput, s.SurgeonInput
