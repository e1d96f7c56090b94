"""
Admin for videos and their catalogue. Every write goes through a service — metadata edits
through ``video_update`` (checked by ``metadata_clean``), the review workflow through
``video_publish`` / ``video_reject`` / ``video_archive``, ``video_reprocess``, ``video_delete``,
merges and bulk edits through :mod:`videos.services.catalogue` — so the rules, permissions
and audit entries are the ones the API has.

What a role sees follows its permissions (accounts/roles.py): Editors edit metadata and
curate the catalogue (bulk tag / category / surgeon, merges); Approvers also publish,
reject and archive; only Admins delete videos. The workflow status is never a form field.

Actions that need input (reject → reason, merge → survivor, bulk edits → the tag, category
or surgeon) use Django's intermediate-page pattern: the first POST renders a form carrying
the selected ids, ``action`` and ``post``; the second applies it and returns to the list.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from core.admin import run_service_action

from . import delivery
from .models import Category, Rendition, Surgeon, Tag, Upload, Video, VideoSurgeon
from .services import catalogue, metadata, review, transcode, uploads

ACTION_TEMPLATE = "admin/videos/action_form.html"
MERGE_TEMPLATE = "admin/videos/merge.html"
SVL_CSS = {"all": ["admin/svl.css"]}


def _intermediate(
    modeladmin, request, queryset, *, action, form, apply, title, intro, submit, template=ACTION_TEMPLATE
):
    """
    Run an admin action that needs input. ``form`` is called with ``data`` (``None`` on the
    first visit); once the posted form is valid, ``apply(cleaned_data)`` runs and the
    changelist is shown again. Otherwise the page with the form (and its errors) answers.
    """
    bound = form(request.POST if "post" in request.POST else None)
    if bound.is_bound and bound.is_valid():
        try:
            apply(bound.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            modeladmin.message_user(request, " ".join(getattr(error, "messages", [str(error)])), messages.ERROR)
        return None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "submit_label": submit,
        "opts": opts,
        "objects": queryset,
        "form": bound,
        "media": modeladmin.media + bound.media,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "cancel_url": request.get_full_path(),
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, template, context)


# ------------------------------------------------------------------------------ forms


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="The uploader sees this reason on their video.",
    )


def _autocomplete(field_name: str, admin_site):
    return AutocompleteSelect(Video._meta.get_field(field_name), admin_site)


def tag_form(admin_site):
    class TagForm(forms.Form):
        tag = forms.ModelChoiceField(Tag.objects.all(), label="Tag", widget=_autocomplete("tags", admin_site))

    return TagForm


def category_form(admin_site):
    class CategoryForm(forms.Form):
        category = forms.ModelChoiceField(
            Category.objects.all(),
            label="Category",
            widget=_autocomplete("category", admin_site),
            help_text="Replaces the category each selected video had.",
        )

    return CategoryForm


def surgeon_form(admin_site):
    class SurgeonForm(forms.Form):
        surgeon = forms.ModelChoiceField(
            Surgeon.objects.all(), label="Surgeon", widget=_autocomplete("surgeons", admin_site)
        )
        role = forms.ChoiceField(
            label="Role",
            choices=VideoSurgeon.Role.choices,
            initial=VideoSurgeon.Role.PRIMARY,
            help_text="Videos that already credit this surgeon keep their current role.",
        )

    return SurgeonForm


WORKFLOW_FIELDS = ["status", "review_note", "progress", "failure_reason", "uploader", "published_at"]
TECHNICAL_FIELDS = [
    "uuid",
    "original_name",
    "size_display",
    "md5",
    "duration",
    "width",
    "height",
    "frame_rate",
    "video_codec",
    "audio_codec",
    "container",
    "extra_video_streams",
    "has_poster",
    "has_storyboard",
    "views",
    "created_at",
    "updated_at",
    "processing_started_at",
    "heartbeat_at",
    "processed_at",
    "search_terms",
]


class VideoAdminForm(forms.ModelForm):
    """Checks the metadata with the rules ``video_update`` applies (``metadata_clean``), so a refusal is a form error."""

    user = None  # set per request by VideoAdmin.get_form

    def clean(self):
        cleaned = super().clean()
        # Fields the form already refused are not checked twice.
        data = {k: v for k, v in VideoAdmin.metadata_from_form(cleaned).items() if k not in self.errors}
        try:
            metadata.metadata_clean(user=self.user, data=data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned


# ------------------------------------------------------------------------------ videos


class _VideoChildInline:
    """Rows that belong to a video follow the video's own permissions (no separate ones)."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("videos.view_video") or request.user.has_perm("videos.change_video")


class VideoSurgeonInline(_VideoChildInline, admin.TabularInline):
    model = VideoSurgeon
    extra = 0
    autocomplete_fields = ["surgeon"]

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("videos.change_video")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("videos.change_video")

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("videos.change_video")


class RenditionInline(_VideoChildInline, admin.TabularInline):
    """The HLS ladder, for reading: the transcoding job writes it."""

    model = Rendition
    extra = 0
    fields = readonly_fields = ["name", "width", "height", "bandwidth", "codecs"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    form = VideoAdminForm
    list_display = [
        "title",
        "status_badge",
        "duration_display",
        "surgeon_names",
        "uploader",
        "category",
        "created_at",
        "progress_display",
    ]
    list_display_links = ["title"]
    list_filter = [
        "status",
        "category",
        "tags",
        "surgeons",
        ("uploader", admin.RelatedOnlyFieldListFilter),
        "created_at",
        "date_of_surgery",
    ]
    search_fields = ["title", "description", "uuid", "original_name", "md5", "surgeons__name", "tags__name"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["tags", "category"]
    list_select_related = ["uploader", "category"]
    inlines = [VideoSurgeonInline, RenditionInline]
    actions = ["publish", "reject", "archive", "reprocess", "add_tag", "set_category", "add_surgeon"]
    fieldsets = [
        (None, {"fields": ["title", "description", "transcript", "category", "tags", "date_of_surgery"]}),
        ("Workflow", {"fields": WORKFLOW_FIELDS}),
        ("Source and processing", {"classes": ["collapse"], "fields": TECHNICAL_FIELDS}),
    ]
    # Everything but the metadata is written by the workflow or the transcoding job.
    # The HLS key is deliberately absent from every list (DESIGN §6.3).
    readonly_fields = WORKFLOW_FIELDS + TECHNICAL_FIELDS

    class Media:
        css = SVL_CSS

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("video_surgeons", queryset=VideoSurgeon.objects.select_related("surgeon").order_by("id"))
            )
        )

    def get_list_display(self, request):
        user_id = request.user.pk

        @admin.display(description="Poster")
        def thumbnail(video):
            # Signed per viewer, so the image needs no query and no session to load.
            if not video.has_poster:
                return "—"
            url = delivery.image_url(video.uuid, user_id)
            return format_html('<img class="svl-thumb" src="{}" alt="" width="96" height="54" loading="lazy">', url)

        return [thumbnail, *self.list_display]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    # ------------------------------------------------------------------ columns

    @admin.display(description="Status", ordering="status")
    def status_badge(self, video):
        return format_html(
            '<span class="svl-status svl-status--{}">{}</span>', video.status, video.get_status_display()
        )

    @admin.display(description="Duration", ordering="duration")
    def duration_display(self, video):
        minutes, seconds = divmod(int(video.duration), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"

    @admin.display(description="Surgeons")
    def surgeon_names(self, video):
        # From the prefetch in get_queryset: no query per row.
        return format_html_join(", ", "{}", ((row.surgeon.name,) for row in video.video_surgeons.all())) or "—"

    @admin.display(description="Progress", ordering="progress")
    def progress_display(self, video):
        return f"{video.progress}%"

    @admin.display(description="Size")
    def size_display(self, video):
        return f"{filesizeformat(video.size_bytes)} ({video.size_bytes:,} bytes)"

    # ------------------------------------------------------------------ saving

    def has_add_permission(self, request):
        return False  # videos arrive through the upload page or the API

    @staticmethod
    def metadata_from_form(cleaned: dict) -> dict:
        """The video form's metadata in ``metadata_clean``'s terms (names for tags, category); it finds what changed."""
        data = {field: cleaned[field] for field in metadata.COLUMNS if field in cleaned}
        if "category" in cleaned:
            data["category"] = cleaned["category"].name if cleaned["category"] else ""
        if "tags" in cleaned:
            data["tags"] = [tag.name for tag in cleaned["tags"]]
        return data

    def save_model(self, request, obj, form, change):
        """Nothing yet: ``save_related`` sends the form and the surgeon rows through one ``video_update``."""

    def save_related(self, request, form, formsets, change):
        data = self.metadata_from_form(form.cleaned_data)
        for formset in formsets:
            # What formset.save() would report, for the admin's own change history.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            if formset.model is not VideoSurgeon or not formset.has_changed():
                continue
            deleted = set(map(id, formset.deleted_forms))
            data["surgeons"] = []
            for index, row in enumerate(formset.forms):
                existing = index < formset.initial_form_count()
                if id(row) in deleted:
                    if existing:
                        formset.deleted_objects.append(row.instance)
                    continue
                if not row.cleaned_data.get("surgeon"):
                    continue  # an untouched blank row
                data["surgeons"].append({"id": row.cleaned_data["surgeon"].pk, "role": row.cleaned_data["role"]})
                if not existing:
                    formset.new_objects.append(row.instance)
                elif row.has_changed():
                    formset.changed_objects.append((row.instance, row.changed_data))
        # Compared with the stored video: the form has already copied its values onto form.instance.
        stored = Video.objects.with_catalogue().get(pk=form.instance.pk)
        metadata.video_update(user=request.user, video=stored, **data)
        form.instance.refresh_from_db()

    def has_delete_permission(self, request, obj=None):
        # A video a delete check holds (governance's legal hold) offers no delete, and the
        # admin's delete pages refuse it (403), as video_delete would.
        return super().has_delete_permission(request, obj) and not (obj and uploads.delete_blockers(obj))

    def delete_model(self, request, obj):
        uploads.video_delete(user=request.user, video=obj)

    def delete_queryset(self, request, queryset):
        for video in queryset:
            uploads.video_delete(user=request.user, video=video)

    # ------------------------------------------------------------------ workflow actions

    def _workflow(service, success):
        """An admin action that runs ``service`` on each selected video, as the API does."""

        def action(self, request, queryset):
            run_service_action(self, request, queryset, lambda v: service(user=request.user, video=v), success)

        return action

    publish = admin.action(description="Publish selected videos", permissions=["publish"])(
        _workflow(review.video_publish, "{count} video(s) published.")
    )
    archive = admin.action(description="Archive selected videos", permissions=["publish"])(
        _workflow(review.video_archive, "{count} video(s) archived.")
    )
    reprocess = admin.action(description="Reprocess selected videos", permissions=["change"])(
        _workflow(transcode.video_reprocess, "{count} video(s) queued for reprocessing.")
    )
    del _workflow

    @admin.action(description="Reject selected videos (with a reason)…", permissions=["publish"])
    def reject(self, request, queryset):
        def apply(cleaned):
            run_service_action(
                self,
                request,
                queryset,
                lambda v: review.video_reject(user=request.user, video=v, reason=cleaned["reason"]),
                "{count} video(s) rejected.",
            )

        return _intermediate(
            self,
            request,
            queryset,
            action="reject",
            form=RejectForm,
            apply=apply,
            title="Reject videos",
            intro="The selected videos leave the review queue. Their uploaders see the reason below.",
            submit="Reject",
        )

    def has_publish_permission(self, request):
        return request.user.has_perm("videos.publish_video")

    # ------------------------------------------------------------------ bulk catalogue actions

    @staticmethod
    def _ids_only(queryset):
        return queryset.select_related(None).prefetch_related(None).only("pk")

    def _bulk(name, *, form, edit, done, title, intro, submit):
        """
        An admin action that asks for one catalogue entry (``form``, given the admin site) and
        gives it to every selected video through ``edit(user=, videos=, **the form's values)``,
        a videos.services.catalogue function; ``done`` says how many it changed.
        """

        def action(self, request, queryset):
            def apply(cleaned):
                count = edit(user=request.user, videos=self._ids_only(queryset), **cleaned)
                self.message_user(request, done.format(count=count, **cleaned), messages.SUCCESS)

            return _intermediate(
                self,
                request,
                queryset,
                action=name,
                form=form(self.admin_site),
                apply=apply,
                title=title,
                intro=intro,
                submit=submit,
            )

        return action

    add_tag = admin.action(description="Add a tag to selected videos…", permissions=["change"])(
        _bulk(
            "add_tag",
            form=tag_form,
            edit=catalogue.add_tag,
            done="Tag “{tag}” added to {count} video(s).",
            title="Add a tag",
            intro="The tag is added to each selected video; their other tags stay.",
            submit="Add tag",
        )
    )
    set_category = admin.action(description="Set the category of selected videos…", permissions=["change"])(
        _bulk(
            "set_category",
            form=category_form,
            edit=catalogue.set_category,
            done="{count} video(s) moved to “{category}”.",
            title="Set the category",
            intro="Each selected video is put in this category.",
            submit="Set category",
        )
    )
    add_surgeon = admin.action(description="Add a surgeon to selected videos…", permissions=["change"])(
        _bulk(
            "add_surgeon",
            form=surgeon_form,
            edit=catalogue.add_surgeon,
            done="{surgeon.name} added to {count} video(s).",
            title="Add a surgeon",
            intro="The surgeon is credited on each selected video; the other surgeons stay.",
            submit="Add surgeon",
        )
    )
    del _bulk


# ------------------------------------------------------------------------------ catalogue


class MergeForm(forms.Form):
    keep = forms.ModelChoiceField(queryset=None, widget=forms.RadioSelect, empty_label=None, label="Keep")

    def __init__(self, data=None, *, entries):
        super().__init__(data, initial={"keep": entries[0].pk} if entries else None)
        self.fields["keep"].queryset = entries


class _CatalogueAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    list_display = ["name", "usage"]
    actions = ["merge"]
    merge_service = None  # a videos.services.catalogue.merge_* function

    class Media:
        css = SVL_CSS

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(usage_count=Count("videos", distinct=True))

    @admin.display(description="Videos", ordering="usage_count")
    def usage(self, obj):
        return obj.usage_count

    @admin.action(description="Merge selected %(verbose_name_plural)s…", permissions=["change", "delete"])
    def merge(self, request, queryset):
        opts = self.model._meta
        entries = queryset.order_by("-usage_count", "name", "pk")
        if len(entries) < 2:
            self.message_user(request, f"Select at least two {opts.verbose_name_plural} to merge.", messages.WARNING)
            return None

        def apply(cleaned):
            keep = cleaned["keep"]
            others = [entry for entry in entries if entry.pk != keep.pk]
            count = type(self).merge_service(user=request.user, keep=keep, others=others)
            self.message_user(
                request,
                f"Merged {len(others)} {opts.verbose_name_plural if len(others) > 1 else opts.verbose_name} "
                f"into “{keep.name}”; {count} video(s) now point to it.",
                messages.SUCCESS,
            )

        return _intermediate(
            self,
            request,
            entries,
            action="merge",
            form=lambda data: MergeForm(data, entries=entries),
            apply=apply,
            title=f"Merge {opts.verbose_name_plural}",
            intro=(
                f"Choose the {opts.verbose_name} to keep. Every video of the others will point to it, and the "
                "others will be deleted. This cannot be undone."
            ),
            submit="Merge",
            template=MERGE_TEMPLATE,
        )


@admin.register(Tag)
class TagAdmin(_CatalogueAdmin):
    readonly_fields = ["slug"]
    merge_service = staticmethod(catalogue.merge_tags)


@admin.register(Category)
class CategoryAdmin(_CatalogueAdmin):
    readonly_fields = ["slug"]
    merge_service = staticmethod(catalogue.merge_categories)


class LinkedAccountFilter(admin.SimpleListFilter):
    title = "user account"
    parameter_name = "linked"

    def lookups(self, request, model_admin):
        return [("yes", "Linked"), ("no", "Not linked")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(user__isnull=False)
        if self.value() == "no":
            return queryset.filter(user__isnull=True)
        return queryset


@admin.register(Surgeon)
class SurgeonAdmin(_CatalogueAdmin):
    list_display = ["name", "specialty", "user", "usage"]
    list_filter = [LinkedAccountFilter, "specialty"]
    list_select_related = ["user"]
    search_fields = ["name", "specialty"]
    autocomplete_fields = ["user"]
    merge_service = staticmethod(catalogue.merge_surgeons)

    def get_readonly_fields(self, request, obj=None):
        # Choosing an account means looking users up, which only roles that may see users can do.
        if request.user.has_perm("accounts.view_user"):
            return self.readonly_fields
        return [*self.readonly_fields, "user"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["filename", "user", "offset", "length", "created_at", "expires_at", "completed_at"]
    readonly_fields = [
        "id",
        "user",
        "filename",
        "length",
        "offset",
        "metadata",
        "created_at",
        "expires_at",
        "completed_at",
        "video",
    ]
    exclude = ["md5_state"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
