"""
Governance API: a video's consent, its legal hold, and its uploaded original (Admins, with a
reason). Every view starts with ``Video.objects.visible_or_404`` (someone who may not see the
video gets 404) and calls a service.
"""

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import DetailOutput
from videos.models import Video

from .. import rights, services
from ..models import LegalHold
from . import serializers as s


def _consent(video) -> dict:
    return s.ConsentOutput(s.ConsentOutput.of(services.consent_of(video), required=settings.CONSENT_REQUIRED)).data


class ConsentApi(APIView):
    """The video's consent: its owner and approvers read and record it."""

    @extend_schema(responses={200: s.ConsentOutput, 403: DetailOutput, 404: DetailOutput})
    def get(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        if not rights.may_set_consent(request.user, video):
            raise PermissionDenied("Only the video's owner or an approver may see its consent.")
        return Response(_consent(video))

    @extend_schema(
        request=s.ConsentInput,
        responses={200: s.ConsentOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def put(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        data = s.ConsentInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.consent_set(user=request.user, video=video, **data.validated_data)
        return Response(_consent(video))


def _hold(video) -> dict:
    hold = LegalHold.objects.filter(video_id=video.pk).select_related("set_by").first()
    return {
        "held": hold is not None,
        "reason": hold.reason if hold else "",
        "set_by": hold.set_by.username if hold and hold.set_by else None,
        "set_at": hold.set_at if hold else None,
    }


class LegalHoldApi(APIView):
    """The video's legal hold: approvers and Admins set it (PUT) and release it (DELETE), with a reason."""

    def _video(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        if not rights.may_set_legal_hold(request.user):
            raise PermissionDenied("Only approvers and Admins may see or change legal holds.")
        return video

    @extend_schema(responses={200: s.LegalHoldOutput, 403: DetailOutput, 404: DetailOutput})
    def get(self, request, video_uuid):
        return Response(_hold(self._video(request, video_uuid)))

    @extend_schema(
        request=s.ReasonInput,
        responses={200: s.LegalHoldOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def put(self, request, video_uuid):
        video = self._video(request, video_uuid)
        data = s.ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.legal_hold_set(user=request.user, video=video, reason=data.validated_data["reason"])
        return Response(_hold(video))

    @extend_schema(
        request=s.ReasonInput,
        responses={200: s.LegalHoldOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def delete(self, request, video_uuid):
        video = self._video(request, video_uuid)
        data = s.ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.legal_hold_release(user=request.user, video=video, reason=data.validated_data["reason"])
        return Response(_hold(video))


class OriginalApi(APIView):
    """
    The uploaded original, streamed: Admins only, with ``?reason=`` (audited before the first
    byte). Everyone else: 403 (404 if they may not see the video); no original any more: 404.
    """

    @extend_schema(
        parameters=[OpenApiParameter("reason", OpenApiTypes.STR, required=True, description="Why (audited).")],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The original"),
            400: DetailOutput,
            403: DetailOutput,
            404: DetailOutput,
        },
    )
    def get(self, request, video_uuid):
        video = Video.objects.visible_or_404(request.user, video_uuid)
        path = services.original_open(user=request.user, video=video, reason=request.query_params.get("reason", ""))
        # A download, whatever the recording is (never shown inline): the documented octet-stream.
        response = FileResponse(
            open(path, "rb"),  # noqa: SIM115 (FileResponse closes it when the body is sent)
            as_attachment=True,
            filename=video.original_name or path.name,
            content_type="application/octet-stream",
        )
        response["Cache-Control"] = "private, no-store"
        return response
