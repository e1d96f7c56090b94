"""
Teaching API (issue #16): a video's chapters, comments and captions, and your notifications.
Every view starts from ``Video.objects.visible_or_404``: a video the caller may not see is a
404, whatever they ask of it. Writes call teaching.services, which decide who may.
"""

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import DetailOutput
from videos import delivery
from videos.models import Video

from .. import captions, services
from ..models import Caption, Comment, Notification, chapter_list
from . import serializers as s

_REFUSED = {400: DetailOutput, 403: DetailOutput, 404: DetailOutput}


class ChaptersApi(APIView):
    """A video's chapters: anyone who may watch it reads them; its owner and Editors+ replace them."""

    @extend_schema(responses={200: s.ChapterOutput(many=True), 404: DetailOutput})
    def get(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        return Response(chapter_list(video))

    @extend_schema(request=s.ChapterInput(many=True), responses={200: s.ChapterOutput(many=True), **_REFUSED})
    def put(self, request, video_uuid):
        """Replace them all: ``[{start, title, step}]``; an error names the item (``[2].start``)."""
        video = Video.objects.visible_or_404(request.user, video_uuid)
        chapters = services.chapters_replace(user=request.user, video=video, items=request.data)
        return Response(chapter_list(video, chapters))


def _comment(request, video, comment_id) -> Comment:
    comment = (
        Comment.objects.visible_to(request.user).filter(video=video, pk=comment_id).select_related("author").first()
    )
    if comment is None:
        raise Http404("No such comment.")
    comment.video = video
    return comment


class CommentsApi(APIView):
    """The discussion of a video, oldest first: comments everyone sees and your own private notes."""

    @extend_schema(responses={200: s.CommentOutput(many=True), 404: DetailOutput})
    def get(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        comments = Comment.objects.for_video(video, request.user)
        return Response(s.CommentOutput(comments, many=True, context={"request": request}).data)

    @extend_schema(request=s.CommentInput, responses={201: s.CommentOutput, **_REFUSED})
    def post(self, request, video_uuid):
        """Anyone who may watch the video; ``@username`` notifies that person (if they may watch it too)."""
        video = Video.objects.visible_or_404(request.user, video_uuid)
        comment = services.comment_create(user=request.user, video=video, data=request.data)
        return Response(s.CommentOutput(comment, context={"request": request}).data, status=status.HTTP_201_CREATED)


class CommentApi(APIView):
    """One comment: its author edits or deletes it; Editors+ moderate comments everyone sees."""

    @extend_schema(request=s.CommentInput, responses={200: s.CommentOutput, **_REFUSED})
    def patch(self, request, video_uuid, comment_id):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        comment = services.comment_update(
            user=request.user, comment=_comment(request, video, comment_id), data=request.data
        )
        return Response(s.CommentOutput(comment, context={"request": request}).data)

    @extend_schema(responses={204: None, 403: DetailOutput, 404: DetailOutput})
    def delete(self, request, video_uuid, comment_id):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        services.comment_delete(user=request.user, comment=_comment(request, video, comment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CaptionsApi(APIView):
    """A video's caption tracks, with signed WebVTT URLs; its owner and Editors+ add (WebVTT or SRT) and remove them."""

    @extend_schema(responses={200: s.CaptionOutput(many=True), 404: DetailOutput})
    def get(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        rows = Caption.objects.filter(video=video)
        return Response(s.CaptionOutput(rows, many=True, context={"request": request, "video": video}).data)

    @extend_schema(request={"multipart/form-data": s.CaptionInput}, responses={201: s.CaptionOutput, **_REFUSED})
    def post(self, request, video_uuid):
        """Multipart ``file`` + ``language`` (+ ``label``); a broken file is a 400 naming its line."""
        video = Video.objects.visible_or_404(request.user, video_uuid)
        upload = request.FILES.get("file")
        data = upload.read(captions.MAX_BYTES + 1) if upload is not None else None
        caption = services.caption_add(
            user=request.user,
            video=video,
            data=data,
            language=request.data.get("language"),
            label=request.data.get("label"),
        )
        context = {"request": request, "video": video}
        return Response(s.CaptionOutput(caption, context=context).data, status=status.HTTP_201_CREATED)


class CaptionApi(APIView):
    @extend_schema(responses={204: None, 403: DetailOutput, 404: DetailOutput})
    def delete(self, request, video_uuid, caption_id):
        """Remove a caption track (the owner and Editors+)."""
        video = Video.objects.visible_or_404(request.user, video_uuid)
        caption = Caption.objects.filter(video=video, pk=caption_id).first()
        if caption is None:
            raise Http404("No such caption.")
        caption.video = video
        services.caption_delete(user=request.user, caption=caption)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _CaptionFileSchema(APIView):
    """Describes ``caption_file`` for drf-spectacular only (as videos.api.views does for its media views)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="videos_caption_file",
        summary="A caption track as WebVTT",
        parameters=[
            OpenApiParameter(
                "token",
                OpenApiTypes.STR,
                required=True,
                description="The token signed into the URL the captions list gave.",
            )
        ],
        responses={
            (200, "text/vtt"): OpenApiTypes.STR,
            (401, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="No token, or a forged, foreign or expired one"
            ),
            404: OpenApiResponse(DetailOutput, description="No such caption"),
        },
    )
    def get(self, request, video_uuid, caption_id):  # pragma: no cover (documentation only)
        raise NotImplementedError


@require_GET
def caption_file(request, video_uuid, caption_id):
    """A caption file, by its signed token alone (scope ``caption``), refused once the video's media are revoked."""
    grant = delivery.verify(request.GET.get("token"), scope=captions.SCOPE, video_uuid=video_uuid)
    if grant is None:
        response = HttpResponse(
            "Not authorised: the link has expired or is not valid.\n", status=401, content_type="text/plain"
        )
        response["Cache-Control"] = "no-store"
        return response
    return delivery.file_response(
        captions.relative_path(video_uuid, caption_id),
        content_type="text/vtt; charset=utf-8",
        cache="private, max-age=3600",
    )


caption_file.cls, caption_file.initkwargs = _CaptionFileSchema, {}  # for the schema; requests never reach it


class NotificationsApi(APIView):
    """Your notifications (newest first, up to 100) and how many are unread."""

    @extend_schema(responses={200: OpenApiResponse(description="{unread, results: [notification]}")})
    def get(self, request):
        rows = Notification.objects.for_user(request.user)[:100]
        return Response(
            {
                "unread": services.unread_count(request.user),
                "results": s.NotificationOutput(rows, many=True).data,
            }
        )


class NotificationsReadApi(APIView):
    @extend_schema(
        request=s.NotificationsReadInput,
        responses={200: OpenApiResponse(description="{read, unread}"), 400: DetailOutput},
    )
    def post(self, request):
        """Mark notifications read: ``ids``, or all of them."""
        data = s.NotificationsReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        changed = services.notifications_read(user=request.user, ids=data.validated_data.get("ids"))
        return Response({"read": changed, "unread": services.unread_count(request.user)})
