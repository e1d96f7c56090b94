"""
Curation pages: the approvers' review queue, the review page (watch, then publish, reject
or archive), and the edit page where an owner or editor corrects a video's details and
sends a rejected one back for review.

Thin doors: reads go through ``Video.objects.visible_or_404`` / ``visible_to`` and
``Video.can_*``; every write is a ``videos.services`` call, whose ``ValidationError``s come
back as form errors. The forms only shape the input: the rules are the services'.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from audit.models import AuditEvent
from core.forms import ClockField, StyledForm
from core.redirects import safe_next
from core.templatetags.timecode import clock

from . import delivery, rights, storyboard
from .models import Category, Surgeon, Tag, Video, VideoSurgeon
from .services import metadata, poster, review
from .views import upload_limits

QUEUE_PAGE_SIZE = 20
PROCESSING_SHOWN = 10
REVIEW_EVENTS = [
    AuditEvent.Event.VIDEO_UPLOAD,
    AuditEvent.Event.VIDEO_PUBLISH,
    AuditEvent.Event.VIDEO_REJECT,
    AuditEvent.Event.VIDEO_ARCHIVE,
    AuditEvent.Event.VIDEO_RESUBMIT,
]


# ------------------------------------------------------------------------------ review

# Panels the apps above add to the review page's side column (governance: consent, legal
# hold): (template, context) pairs, ``context(video, user) -> dict`` given to the template as ``panel``.
review_panels: list[tuple[str, object]] = []


def register_review_panel(template: str, context) -> None:
    """Show ``template`` on the review page with ``panel = context(video, user)``; once each."""
    if (template, context) not in review_panels:
        review_panels.append((template, context))


def _require_reviewer(user) -> None:
    if not rights.may_review(user):
        raise PermissionDenied("Only approvers may review videos.")


def _queue(user):
    """Videos awaiting review that ``user`` may see, oldest upload first."""
    return Video.objects.visible_to(user).filter(status=Video.Status.PROCESSED).order_by("created_at", "id")


def _processing(user):
    """
    Cases still being processed whose start already plays (issue #14), oldest upload first: an
    approver can start watching a long case before it is finished; the decision waits for the end.
    """
    return (
        Video.objects.visible_to(user)
        .filter(status__in=Video.WORKING)
        .playable()
        .select_related("uploader")
        .order_by("created_at", "id")
    )


def _next_in_queue(user, current: Video) -> Video | None:
    """The video after ``current`` in the queue, else the first one still waiting."""
    queue = _queue(user).exclude(pk=current.pk).only("uuid")
    later = Q(created_at__gt=current.created_at) | Q(created_at=current.created_at, id__gt=current.pk)
    return queue.filter(later).first() or queue.first()


@login_required
def review_queue(request):
    user = request.user
    _require_reviewer(user)
    page = Paginator(_queue(user).with_catalogue(), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [
        (video, delivery.image_url(video.uuid, user.pk) if video.has_poster else "") for video in page.object_list
    ]
    processing = list(_processing(user)[:PROCESSING_SHOWN]) if page.number == 1 else []
    return render(request, "videos/review.html", {"page_obj": page, "processing": processing})


class RejectForm(StyledForm):
    # Not required here: the service says why an empty reason is refused, in one place.
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4, "required": True}),
        help_text="The uploader receives this by e-mail and sees it on “My uploads”.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_video(request, video_uuid):
    user = request.user
    _require_reviewer(user)
    video = Video.objects.with_catalogue().visible_or_404(user, video_uuid)
    reject_form = RejectForm()
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in DECISIONS:
            return HttpResponseBadRequest("Unknown action.")
        reject_form = RejectForm(request.POST if action == "reject" else None)
        try:
            done = _decide(request, video, action, reject_form)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                # Another approver got there first, or the video changed state meanwhile.
                messages.error(request, " ".join(error.messages))
                return redirect("videos:review_video", video_uuid=video.uuid)
            reject_form.add_service_errors(error)
        else:
            if done:
                messages.success(request, done)
                following = _next_in_queue(user, video)
                if following is None:
                    return redirect("videos:review")
                return redirect("videos:review_video", video_uuid=following.uuid)
    return render(request, "videos/review_video.html", _review_context(request, video, reject_form))


DECISIONS = {"publish", "reject", "archive"}


def _decide(request, video: Video, action: str, reject_form: RejectForm) -> str:
    """Take the decision through the service; returns the message, or "" if the reject form is invalid."""
    user = request.user
    if action == "publish":
        review.video_publish(user=user, video=video)
        return f"“{video.title}” is published."
    if action == "archive":
        review.video_archive(user=user, video=video)
        return f"“{video.title}” is archived."
    if not reject_form.is_valid():
        return ""
    review.video_reject(user=user, video=video, reason=reject_form.cleaned_data["reason"])
    return f"“{video.title}” is rejected; the uploader has been sent your reason."


def _review_context(request, video: Video, reject_form: RejectForm) -> dict:
    user = request.user
    history = (
        AuditEvent.objects.filter(event__in=REVIEW_EVENTS, detail__video=str(video.uuid))
        .select_related("actor")
        .order_by("-created_at", "-id")[:10]
    )
    following = _next_in_queue(user, video) if video.status == Video.Status.PROCESSED else None
    return {
        "video": video,
        "surgeon_roles": video.video_surgeons.all(),
        "renditions": video.renditions.all(),
        "master_url": reverse("api:hls_master", kwargs={"video_uuid": video.uuid}) if video.is_playable else "",
        "poster_url": delivery.image_url(video.uuid, user.pk) if video.has_poster else "",
        "storyboard_url": delivery.image_url(video.uuid, user.pk, "storyboard.vtt") if video.has_storyboard else "",
        "api_url": reverse("api:video", kwargs={"video_uuid": video.uuid}),
        "preferences": {"quality": user.default_quality, "speed": user.default_speed, "autoplay": False},
        "reject_form": reject_form,
        "can_publish": video.status in review.PUBLISH_FROM,
        "publish_blockers": review.publish_blockers(video) if video.status in review.PUBLISH_FROM else [],
        "can_reject": video.status in review.REJECT_FROM,
        "can_archive": video.status in review.ARCHIVE_FROM,
        "can_edit": video.can_edit(user),
        "queue_count": _queue(user).count(),
        "next_video": following,
        "history": history,
        "panels": [(template, context(video, user)) for template, context in review_panels],
    }


# ------------------------------------------------------------------------------ edit


class SurgeonRowForm(StyledForm):
    surgeon = forms.ChoiceField(label="Surgeon", required=False)  # choices given per request
    role = forms.ChoiceField(
        label="Role", required=False, choices=VideoSurgeon.Role.choices, initial=VideoSurgeon.Role.PRIMARY
    )

    def __init__(self, *args, surgeon_choices=(), **kwargs):
        # Before Form.__init__, which copies base_fields into self.fields.
        self.base_fields = {
            **type(self).base_fields,
            "surgeon": forms.ChoiceField(
                label="Surgeon", required=False, choices=[("", "No surgeon"), *surgeon_choices]
            ),
        }
        super().__init__(*args, **kwargs)


SurgeonFormSet = forms.formset_factory(SurgeonRowForm, extra=2, max_num=50, absolute_max=50, validate_max=True)


class VideoEditForm(StyledForm):
    """The shape of the edit page's input; the rules (required title, lengths, catalogue names, dates) are ``metadata_clean``'s."""

    # Not required here: the service says why an empty title is refused, in one place.
    title = forms.CharField(
        label="Title",
        required=False,
        widget=forms.TextInput(attrs={"required": True, "maxlength": metadata.TITLE_MAX}),
    )
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 5}))
    transcript = forms.CharField(
        label="Transcript",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="What is said in the recording, if you have it; it is searchable.",
    )
    category = forms.CharField(label="Category", required=False)  # replaced per user in __init__
    date_of_surgery = forms.DateField(
        label="Date of surgery", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    tags = forms.CharField(label="Tags", required=False)  # replaced in __init__

    def __init__(self, *args, can_create: bool, category_names: list[str], **kwargs):
        # Per-instance fields, so the category widget can depend on the user: set before
        # Form.__init__ copies them and StyledForm.__init__ adds the theme's classes.
        self.base_fields = dict(type(self).base_fields)
        if can_create:
            self.base_fields["category"] = forms.CharField(
                label="Category",
                required=False,
                help_text="Pick one, or type a new category.",
                widget=forms.TextInput(
                    attrs={"autocomplete": "off", "list": "category-options", "maxlength": metadata.CATEGORY_MAX}
                ),
            )
            tags_help = "Separate tags with commas. New tags are added to the catalogue."
        else:
            self.base_fields["category"] = forms.ChoiceField(
                label="Category",
                required=False,
                choices=[("", "No category")] + [(name, name) for name in category_names],
            )
            tags_help = "Separate tags with commas. Choose from the existing tags; an editor can add new ones."
        self.base_fields["tags"] = forms.CharField(
            label="Tags",
            required=False,
            max_length=2000,
            help_text=tags_help,
            widget=forms.TextInput(attrs={"autocomplete": "off", "list": "tag-options"}),
        )
        super().__init__(*args, **kwargs)
        self.fields["date_of_surgery"].widget.attrs["max"] = timezone.localdate().isoformat()
        self.fields["title"].widget.attrs["autocomplete"] = "off"

    def _text(self, name: str) -> str:
        # Browsers send CRLF line ends from a textarea; store what the API would.
        return (self.cleaned_data.get(name) or "").replace("\r\n", "\n")

    def clean_description(self):
        return self._text("description")

    def clean_transcript(self):
        return self._text("transcript")


class PosterForm(StyledForm):
    """
    The edit page's poster choice: a storyboard frame (``at``: its start, radios the template
    draws) or a typed ``time``, which wins. The range and the moments that may not be shown are
    ``poster.video_poster_set``'s rules.
    """

    at = forms.CharField(label="Frame", required=False, max_length=40)
    time = ClockField(
        label="Or type a time",
        required=False,
        help_text="As seconds (90), minutes and seconds (1:30) or hours too (1:02:03). A time typed here is used "
        "rather than a chosen frame.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "maxlength": 20}),
    )

    def __init__(self, *args, has_frames: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_frames = has_frames
        if not has_frames:
            self.fields["time"].label = "Time in the recording"

    def clean(self):
        data = super().clean()
        if data.get("time") is not None:
            data["moment"] = data["time"]
        elif data.get("at"):
            data["moment"] = data["at"]  # the service reads it as seconds, and says why it cannot
        elif not self.errors:
            self.add_error("at" if self.has_frames else "time", "Choose a frame, or type a time.")
        return data

    def add_service_errors(self, error) -> None:
        # The service names ``at`` however the moment was given: say it where it was given.
        given = "time" if self.cleaned_data.get("time") is not None else "at"
        for message in error.messages:
            self.add_error(given, message)


def _metadata(form: VideoEditForm, surgeons: SurgeonFormSet) -> dict:
    """The page's input in ``metadata_clean``'s terms: every field, so the service finds what changed."""
    rows = [
        {"id": row["surgeon"], "role": row["role"] or VideoSurgeon.Role.PRIMARY}
        for row in (row_form.cleaned_data for row_form in surgeons.forms)
        if row.get("surgeon")
    ]
    return {**form.cleaned_data, "surgeons": rows}


def _poster_chosen(request, video: Video, poster_form: PosterForm) -> bool:
    """The edit page's poster form (``action=poster``) through ``poster.video_poster_set``; whether it took."""
    if not poster_form.is_valid():
        return False
    try:
        poster.video_poster_set(user=request.user, video=video, at=poster_form.cleaned_data["moment"])
    except ValidationError as error:
        poster_form.add_service_errors(error)
        return False
    messages.success(request, f"The poster is now the frame at {clock(poster_form.cleaned_data['moment'])}.")
    return True


def _poster_context(request, video: Video) -> dict:
    """The poster section: the current poster, and the storyboard's frames to choose from (the sprite's signed URL)."""
    user = request.user
    frames = storyboard.read(video.hls_dir) if video.has_storyboard else None
    return {
        "poster_url": delivery.image_url(video.uuid, user.pk) if video.has_poster else "",
        "storyboard": frames,
        "sprite_url": delivery.image_url(video.uuid, user.pk, "storyboard.jpg") if frames else "",
        # video_poster_set refuses then; the page says so instead of offering a form that cannot work.
        "can_choose_poster": not video.is_working and video.duration > 0,
    }


@login_required
@require_http_methods(["GET", "POST"])
def edit_video(request, video_uuid):
    """
    Edit a video's details (``action`` save, or resubmit a rejected one), choose its poster
    (``action=poster``: a POST of its own, the details form is shown afresh), and replace its
    recording (the page's script sends it with tus; see templates/videos/_replace_recording.html).
    """
    user = request.user
    video = Video.objects.with_catalogue().visible_or_404(user, video_uuid)
    if not video.can_edit(user):
        raise PermissionDenied("You may not edit this video.")
    can_create = rights.may_add_to_catalogue(user, Tag)
    category_names = list(Category.objects.values_list("name", flat=True))
    surgeon_choices = [
        (str(pk), f"{name} ({specialty})" if specialty else name)
        for pk, name, specialty in Surgeon.objects.values_list("id", "name", "specialty")
    ]
    form_options = {"can_create": can_create, "category_names": category_names}
    next_url = safe_next(request)
    poster_context = _poster_context(request, video)
    has_frames = poster_context["storyboard"] is not None
    poster_form = PosterForm(prefix="poster", has_frames=has_frames)
    surgeon_errors: list[str] = []
    action = request.POST.get("action", "save") if request.method == "POST" else ""

    if action == "poster":
        poster_form = PosterForm(request.POST, prefix="poster", has_frames=has_frames)
        if _poster_chosen(request, video, poster_form):
            return HttpResponseRedirect(request.get_full_path() + "#poster")
    if action and action != "poster":
        form = VideoEditForm(request.POST, **form_options)
        surgeons = SurgeonFormSet(request.POST, prefix="surgeons", form_kwargs={"surgeon_choices": surgeon_choices})
        resubmit = action == "resubmit"
        if form.is_valid() and surgeons.is_valid():
            changes = []
            try:
                if resubmit:
                    video = review.video_resubmit(user=user, video=video, metadata=_metadata(form, surgeons))
                else:
                    changes = metadata.video_update(user=user, video=video, **_metadata(form, surgeons))
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    surgeon_errors = [m for e in error.error_dict.pop("surgeons", []) for m in e.messages]
                form.add_service_errors(error)
            else:
                if resubmit and video.status == Video.Status.PUBLISHED:
                    messages.success(request, f"“{video.title}” is saved and published.")
                elif resubmit:
                    messages.success(request, f"“{video.title}” is saved and back in the review queue.")
                elif changes:
                    messages.success(request, "Your changes are saved.")
                else:
                    messages.info(request, "Nothing was changed.")
                if next_url:
                    return HttpResponseRedirect(next_url)
                if resubmit and video.uploader_id == user.pk:
                    return redirect("videos:mine")
                return redirect("videos:watch", video_uuid=video.uuid)
    else:
        form = VideoEditForm(
            initial={
                "title": video.title,
                "description": video.description,
                "transcript": video.transcript,
                "category": video.category.name if video.category else "",
                "date_of_surgery": video.date_of_surgery,
                "tags": ", ".join(tag.name for tag in video.tags.all()),
            },
            **form_options,
        )
        surgeons = SurgeonFormSet(
            prefix="surgeons",
            initial=[{"surgeon": str(role.surgeon_id), "role": role.role} for role in video.video_surgeons.all()],
            form_kwargs={"surgeon_choices": surgeon_choices},
        )

    return render(
        request,
        "videos/edit.html",
        {
            "video": video,
            "form": form,
            "surgeons": surgeons,
            "surgeon_errors": surgeon_errors,
            "can_create": can_create,
            "category_names": category_names,
            "tag_names": list(Tag.objects.values_list("name", flat=True)),
            "can_resubmit": video.status == Video.Status.REJECTED,
            "next_url": next_url,
            "cancel_url": next_url or reverse("videos:watch", kwargs={"video_uuid": video.uuid}),
            "poster_form": poster_form,
            **poster_context,
            **upload_limits(),
        },
    )
