"""
Videos API (DESIGN §7) and the protected media endpoints.

A video is read with ``Video.objects.visible_or_404(user, uuid)`` (someone who may not see it
gets 404, never 403, so ids do not leak); writes call ``videos.services``. Variant playlists,
segments and images are plain Django views authorised by signed tokens alone: no session,
no database query.
"""

from pathlib import Path

from django.http import Http404, HttpResponse
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

from .. import delivery, ingest, storage
from ..ingest import HashingUploadHandler
from ..models import Category, Surgeon, Tag, Video
from ..services import catalogue, metadata, poster, replacement, review, transcode, uploads
from . import serializers as s


def _detail(request, video_uuid) -> dict:
    """The video as the caller sees it in full (``VideoDetailOutput``); 404 if they may not see it."""
    user = request.user
    video = Video.objects.with_catalogue().with_viewer_state(user).visible_or_404(user, video_uuid)
    return s.VideoDetailOutput(video, context={"request": request}).data


class VideoListCreateApi(generics.GenericAPIView):
    """
    Upload a video (multipart: ``file`` + metadata). The list and search (GET) of the same URL
    is library's ``library.api.views.VideoListApi``, a subclass of this view, which the URL serves.
    """

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (the session's CSRF check may, before the permission
        # is known): stream the one ``file`` part to disk and hash it on the way, once
        # uploads.upload_admit has accepted the sender, the free space and the quota.
        if request.method == "POST":
            request.upload_handlers = [
                HashingUploadHandler(
                    request,
                    admit=lambda user, length: uploads.upload_admit(user=user, length=length, folder=storage.tmp_dir()),
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
        if refusal is not None:
            raise refusal  # by upload_admit (audited there) or the disk, before the file was written
        try:
            if getattr(request._request, "upload_too_large", False):
                raise ValidationError({"file": ["The file is larger than the upload limit."]})
            if upload is None:
                raise ValidationError({"file": ["Attach the recording as the multipart field “file”."]})
            data = s.VideoMetadataInput(data=request.data)
            data.is_valid(raise_exception=True)
            then = uploads.upload_extras_clean(user=request.user, data=request.data)
            path = Path(upload.temporary_file_path())
            upload.close()
            completed = uploads.upload_complete(
                user=request.user,
                path=path,
                filename=upload.name,
                md5=upload.md5,
                size=upload.size,
                metadata=dict(data.validated_data),
                then=then,
            )
        finally:
            ingest.discard_received(request._request)
        body = {**_detail(request, completed.video.uuid), "duplicate": completed.duplicate}
        return Response(body, status=status.HTTP_200_OK if completed.duplicate else status.HTTP_201_CREATED)


class VideoDetailApi(APIView):
    """One video: read, edit metadata (owner or editor), delete."""

    @extend_schema(responses={200: s.VideoDetailOutput, 404: DetailOutput})
    def get(self, request, video_uuid):
        return Response(_detail(request, video_uuid))

    @extend_schema(
        request=s.VideoMetadataInput,
        responses={200: s.VideoDetailOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def patch(self, request, video_uuid):
        video = Video.objects.with_catalogue().visible_or_404(request.user, video_uuid)
        data = s.VideoMetadataInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        metadata.video_update(user=request.user, video=video, **data.validated_data)
        return Response(_detail(request, video_uuid))

    @extend_schema(responses={204: None, 403: DetailOutput, 404: DetailOutput, 409: DetailOutput})  # 409: legal hold
    def delete(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        uploads.video_delete(user=request.user, video=video)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoRelatedApi(APIView):
    """Published videos you may see sharing tags, surgeons or the category with this one (up to 8)."""

    @extend_schema(responses={200: s.VideoOutput(many=True), 404: DetailOutput})
    def get(self, request, video_uuid):
        video = Video.objects.with_catalogue().visible_or_404(request.user, video_uuid)
        related = Video.objects.related_for(video, request.user)[:8]
        return Response(s.VideoOutput(related, many=True, context={"request": request}).data)


class _WorkflowApi(APIView):
    """One step of a video's workflow: ``service(user=, video=)``, then the video as it now is."""

    service = None

    def perform(self, request, video):
        type(self).service(user=request.user, video=video)

    # 409: a rule of an app above holds the step back (review.register_publish_check: details
    # missing, privacy ranges undecided), named in the detail.
    @extend_schema(
        request=None,
        responses={
            200: s.VideoDetailOutput,
            400: DetailOutput,
            403: DetailOutput,
            404: DetailOutput,
            409: DetailOutput,
        },
    )
    def post(self, request, video_uuid):
        self.perform(request, Video.objects.visible_or_404(request.user, video_uuid))
        return Response(_detail(request, video_uuid))


class VideoPublishApi(_WorkflowApi):
    service = staticmethod(review.video_publish)


class VideoArchiveApi(_WorkflowApi):
    service = staticmethod(review.video_archive)


class VideoReprocessApi(_WorkflowApi):
    service = staticmethod(transcode.video_reprocess)


class VideoResubmitApi(_WorkflowApi):
    """Send a rejected video back for review (owner or editor); published at once without approval."""

    service = staticmethod(review.video_resubmit)


class VideoReplacementApi(VideoListCreateApi):
    """Replace the recording of a video (multipart ``file``; owner or editor; issue #15): same id, re-processed."""

    serializer_class = s.VideoReplacementInput  # what OPTIONS describes

    @extend_schema(
        request={"multipart/form-data": s.VideoReplacementInput},
        responses={200: s.VideoDetailOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def post(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        if not video.can_edit(request.user):  # refused before a word about the file
            raise PermissionDenied("Only the owner or an editor may replace the recording.")
        upload = request.FILES.get("file")
        refusal = getattr(request._request, "upload_refusal", None)
        if refusal is not None:
            raise refusal
        try:
            if getattr(request._request, "upload_too_large", False):
                raise ValidationError({"file": ["The file is larger than the upload limit."]})
            if upload is None:
                raise ValidationError({"file": ["Attach the recording as the multipart field “file”."]})
            path = Path(upload.temporary_file_path())
            upload.close()
            replacement.video_replace_original(
                user=request.user, video=video, path=path, filename=upload.name, md5=upload.md5, size=upload.size
            )
        finally:
            ingest.discard_received(request._request)
        return Response(_detail(request, video_uuid))


class VideoPosterApi(_WorkflowApi):
    """Take the poster again from a moment of the recording (owner or editor; issue #15)."""

    @extend_schema(
        request=s.PosterInput,
        responses={200: s.VideoDetailOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def post(self, request, video_uuid):
        return super().post(request, video_uuid)

    def perform(self, request, video):
        data = s.PosterInput(data=request.data)
        data.is_valid(raise_exception=True)
        poster.video_poster_set(user=request.user, video=video, at=data.validated_data["at"])


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
        review.video_reject(user=request.user, video=video, reason=data.validated_data["reason"])


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
        video = Video.objects.visible_or_404(user, video_uuid)
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
    return delivery.file_response(storage.hls_relative(video_uuid, rung, segment), content_type="video/mp2t")


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
    return delivery.file_response(storage.hls_relative(video_uuid, name), content_type=content_type)


def _storyboard_vtt(request, video_uuid, grant):
    """The cue file, with its sprite URL signed so the player can fetch it."""
    path = storage.hls_dir(video_uuid) / "storyboard.vtt"
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
    video = Video.objects.playable().only("hls_key").visible_or_404(user, video_uuid)
    if not video.hls_key:
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
        item = catalogue.catalogue_add(model=self.model, user=request.user, **data.validated_data)
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
