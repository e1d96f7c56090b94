"""
The review page's privacy forms (templates/privacy/_review_panel.html): decide a range, mark one
by hand, apply the decisions. Thin POST-only doors: the rules are privacy.services'; a refusal
comes back as a message on the review page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from videos.models import Video

from . import rights, services
from .models import PrivacyRange


def _video(request, video_uuid) -> Video:
    video = Video.objects.visible_or_404(request.user, video_uuid)
    if not rights.may_decide(request.user, video):
        raise PermissionDenied("Only approvers and the video's owner decide on privacy ranges.")
    return video


def _back(video):
    return redirect("videos:review_video", video_uuid=video.uuid)


def _say(request, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            messages.error(request, f"{field.capitalize()}: {' '.join(errors)}")
    else:
        messages.error(request, " ".join(error.messages))


def seconds(text: str) -> str | float:
    """ "1:05" or "0:01:05" or "65" → 65.0; anything else is passed on for the service to refuse."""
    try:
        value = 0.0
        for part in str(text).strip().split(":"):
            value = value * 60 + float(part)
        return value
    except ValueError:
        return text


@login_required
@require_POST
def range_decide(request, video_uuid, range_id):
    video = _video(request, video_uuid)
    privacy_range = get_object_or_404(
        PrivacyRange.objects.select_related("scan__video"), pk=range_id, scan__video=video
    )
    try:
        done = services.range_decide(
            user=request.user,
            privacy_range=privacy_range,
            decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as error:
        _say(request, error)
    else:
        messages.success(request, f"{done.label}: {done.get_decision_display().lower()}.")
    return _back(video)


@login_required
@require_POST
def range_add(request, video_uuid):
    video = _video(request, video_uuid)
    try:
        made = services.range_add(
            user=request.user,
            video=video,
            start=seconds(request.POST.get("start", "")),
            end=seconds(request.POST.get("end", "")),
        )
    except ValidationError as error:
        _say(request, error)
    else:
        messages.success(request, f"{made.label} marked; decide what to do with it.")
    return _back(video)


@login_required
@require_POST
def apply(request, video_uuid):
    video = _video(request, video_uuid)
    try:
        scan = services.privacy_apply(user=request.user, video=video)
    except ValidationError as error:
        _say(request, error)
    else:
        if scan.applying:
            messages.success(
                request, "Applying the decisions: the redacted video is being made; the current one serves until then."
            )
        else:
            messages.success(request, "Nothing to redact: the decisions are recorded.")
    return _back(video)
