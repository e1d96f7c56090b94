"""
Privacy API: a video's scan and ranges, deciding a range, marking one by hand, applying the
decisions. Every view starts with ``Video.objects.visible_or_404`` (someone who may not see the
video gets 404), then ``privacy.rights`` (403), then calls a service.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import DetailOutput
from videos.models import Video

from .. import rights, services
from ..models import PrivacyRange, PrivacyScan
from . import serializers as s


def _video(request, video_uuid) -> Video:
    video = Video.objects.visible_or_404(request.user, video_uuid)
    if not rights.may_read(request.user, video):
        raise PermissionDenied("Only approvers, editors and the video's owner see its privacy ranges.")
    return video


def privacy_of(video: Video) -> dict:
    scan = PrivacyScan.objects.filter(video_id=video.pk).first()
    ranges = list(scan.ranges.all()) if scan else []
    return s.PrivacyOutput(
        {"status": scan.status if scan else "pending", "applying": bool(scan and scan.applying), "ranges": ranges}
    ).data


class PrivacyApi(APIView):
    """The video's privacy status and flagged ranges (approvers, editors, the owner)."""

    @extend_schema(responses={200: s.PrivacyOutput, 403: DetailOutput, 404: DetailOutput})
    def get(self, request, video_uuid):
        return Response(privacy_of(_video(request, video_uuid)))


class RangeDecideApi(APIView):
    """Decide one range: blur, black, cut, or keep (with a reason)."""

    @extend_schema(
        request=s.DecisionInput,
        responses={200: s.RangeOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def patch(self, request, video_uuid, range_id):
        video = _video(request, video_uuid)
        privacy_range = get_object_or_404(
            PrivacyRange.objects.select_related("scan__video"), pk=range_id, scan__video=video
        )
        data = s.DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        done = services.range_decide(user=request.user, privacy_range=privacy_range, **data.validated_data)
        return Response(s.RangeOutput(done).data)


class RangeAddApi(APIView):
    """Mark a range by hand (seconds from the start); it is undecided until decided."""

    @extend_schema(
        request=s.RangeInput,
        responses={201: s.RangeOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput},
    )
    def post(self, request, video_uuid):
        video = _video(request, video_uuid)
        data = s.RangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        made = services.range_add(user=request.user, video=video, **data.validated_data)
        return Response(s.RangeOutput(made).data, status=status.HTTP_201_CREATED)


class ApplyApi(APIView):
    """Apply the decisions: 202, the redacted ladder is made in the background; ``resolved`` when done."""

    @extend_schema(
        request=None, responses={202: s.PrivacyOutput, 400: DetailOutput, 403: DetailOutput, 404: DetailOutput}
    )
    def post(self, request, video_uuid):
        video = _video(request, video_uuid)
        services.privacy_apply(user=request.user, video=video)
        return Response(privacy_of(video), status=status.HTTP_202_ACCEPTED)
