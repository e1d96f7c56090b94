"""HTML pages for videos: upload and the uploader's list (the watch page is library's: it is
about watching). Thin: the page scripts talk to the API for everything else."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from . import delivery, rights
from .models import Category, Surgeon, Tag, Video, VideoSurgeon

# Panels the apps above add to each file's details form on the upload page (governance:
# consent): (template, context, script): ``context(user) -> dict`` is given to the template as
# ``panel``; ``script`` (a static path, or None) loads after the page's own scripts.
upload_panels: list[tuple[str, object, str | None]] = []


def register_upload_panel(template: str, context, script: str | None = None) -> None:
    """Show ``template`` in every file's details form; once each."""
    if (template, context, script) not in upload_panels:
        upload_panels.append((template, context, script))


def upload_limits() -> dict:
    """What a page's file picker says and checks before sending (the server checks again): size and types."""
    return {
        "max_bytes": settings.VIDEO_MAX_UPLOAD_BYTES,
        "extensions": settings.VIDEO_EXTENSIONS,
        "accept": ",".join(f".{ext}" for ext in settings.VIDEO_EXTENSIONS),
    }


@login_required
def upload_page(request):
    if not rights.may_upload(request.user):
        raise PermissionDenied("Your role may not upload videos.")
    return render(
        request,
        "videos/upload.html",
        {
            "categories": list(Category.objects.values_list("name", flat=True)),
            "tags": list(Tag.objects.values_list("name", flat=True)),
            "surgeons": list(Surgeon.objects.values("id", "name", "specialty")),
            "surgeon_roles": VideoSurgeon.Role.choices,
            **upload_limits(),
            "can_create_catalogue": rights.may_add_to_catalogue(request.user, Tag),
            "panels": [(template, context(request.user), script) for template, context, script in upload_panels],
        },
    )


@login_required
def my_uploads_page(request):
    videos = Video.objects.filter(uploader=request.user).with_catalogue()[:200]
    rows = [(video, delivery.image_url(video.uuid, request.user.pk) if video.has_poster else "") for video in videos]
    return render(request, "videos/mine.html", {"videos": videos, "rows": rows, **upload_limits()})
