"""
The review page's governance forms (templates/governance/_review_panel.html): thin POST-only
doors that call the services and return to the review page with what happened.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from videos.models import Video

from . import services


def _back(video):
    return redirect("videos:review_video", video_uuid=video.uuid)


def _refused(request, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


@login_required
@require_POST
def consent_set(request, video_uuid):
    video = Video.objects.visible_or_404(request.user, video_uuid)
    try:
        consent = services.consent_set(
            user=request.user,
            video=video,
            status=request.POST.get("status", ""),
            purpose=request.POST.get("purpose", ""),
        )
    except ValidationError as error:
        _refused(request, error)
    else:
        text = f"Consent recorded: {consent}."
        if consent.status == consent.Status.WITHDRAWN:
            text += " The video is out of the library and listed for deletion."
        messages.success(request, text)
    return _back(video)


@login_required
@require_POST
def legal_hold(request, video_uuid):
    video = Video.objects.visible_or_404(request.user, video_uuid)
    reason = request.POST.get("reason", "")
    try:
        if request.POST.get("action") == "release":
            services.legal_hold_release(user=request.user, video=video, reason=reason)
            messages.success(request, "Legal hold released.")
        else:
            services.legal_hold_set(user=request.user, video=video, reason=reason)
            messages.success(request, "Legal hold set: nothing can delete this video until it is released.")
    except ValidationError as error:
        _refused(request, error)
    return _back(video)
