"""
Admin for videos and their catalogue. Actions call the same services as the API
(publish, reject, archive, reprocess, delete), so every rule and audit entry is shared.
"""

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html

from config.admin import run_service_action

from . import delivery, services
from .models import Category, Rendition, Surgeon, Tag, Upload, Video, VideoSurgeon


class VideoSurgeonInline(admin.TabularInline):
    model = VideoSurgeon
    extra = 0
    autocomplete_fields = ["surgeon"]


class RenditionInline(admin.TabularInline):
    model = Rendition
    extra = 0
    can_delete = False
    readonly_fields = ["name", "width", "height", "bandwidth", "codecs"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["title", "status_badge", "progress", "duration_display", "uploader", "category", "created_at"]
    list_display_links = ["title"]
    list_filter = ["status", "category", "tags", ("uploader", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["title", "description", "uuid", "original_name", "md5"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["tags", "category"]
    list_select_related = ["uploader", "category"]
    inlines = [VideoSurgeonInline, RenditionInline]
    actions = ["publish", "reject", "archive", "reprocess"]
    fieldsets = [
        (None, {"fields": ["title", "description", "transcript", "category", "tags", "date_of_surgery"]}),
        ("Workflow", {"fields": ["status", "review_note", "progress", "failure_reason", "uploader", "published_at"]}),
        (
            "Source",
            {
                "classes": ["collapse"],
                "fields": [
                    "uuid",
                    "original_name",
                    "size_bytes",
                    "md5",
                    "duration",
                    "width",
                    "height",
                    "frame_rate",
                    "video_codec",
                    "audio_codec",
                    "container",
                    "created_at",
                    "processed_at",
                ],
            },
        ),
    ]
    readonly_fields = [
        "status",
        "progress",
        "failure_reason",
        "uploader",
        "published_at",
        "uuid",
        "original_name",
        "size_bytes",
        "md5",
        "duration",
        "width",
        "height",
        "frame_rate",
        "video_codec",
        "audio_codec",
        "container",
        "created_at",
        "processed_at",
    ]

    def get_list_display(self, request):
        user_id = request.user.pk

        @admin.display(description="Poster")
        def thumbnail(video):
            # Signed per viewer, so the image needs no query and no session to load.
            if not video.has_poster:
                return "—"
            url = delivery.image_url(video.uuid, user_id)
            return format_html('<img src="{}" alt="" width="96" height="54" loading="lazy">', url)

        return [thumbnail, *self.list_display]

    @admin.display(description="Status", ordering="status")
    def status_badge(self, video):
        return video.get_status_display()

    @admin.display(description="Duration", ordering="duration")
    def duration_display(self, video):
        minutes, seconds = divmod(int(video.duration), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"

    def has_add_permission(self, request):
        return False  # videos arrive through the upload page or the API

    def save_model(self, request, obj, form, change):
        data = {
            field: form.cleaned_data[field]
            for field in form.changed_data
            if field in services.METADATA_FIELDS - {"tags", "surgeons", "category"}
        }
        if "category" in form.changed_data:
            data["category"] = form.cleaned_data["category"].name if form.cleaned_data["category"] else ""
        services.video_update(request=request, user=request.user, video=obj, **data)

    def delete_model(self, request, obj):
        services.video_delete(request=request, user=request.user, video=obj)

    def delete_queryset(self, request, queryset):
        for video in queryset:
            services.video_delete(request=request, user=request.user, video=video)

    def _workflow(service, success, **extra):
        """An admin action that runs ``service`` on each selected video, as the API does."""

        def action(self, request, queryset):
            run_service_action(
                self,
                request,
                queryset,
                lambda v: service(request=request, user=request.user, video=v, **extra),
                success,
            )

        return action

    publish = admin.action(description="Publish selected videos", permissions=["publish"])(
        _workflow(services.video_publish, "{count} video(s) published.")
    )
    reject = admin.action(description="Reject selected videos", permissions=["publish"])(
        _workflow(services.video_reject, "{count} video(s) rejected.", reason="Rejected in review.")
    )
    archive = admin.action(description="Archive selected videos", permissions=["publish"])(
        _workflow(services.video_archive, "{count} video(s) archived.")
    )
    reprocess = admin.action(description="Reprocess selected videos", permissions=["change"])(
        _workflow(services.video_reprocess, "{count} video(s) queued for reprocessing.")
    )
    del _workflow

    def has_publish_permission(self, request):
        return request.user.has_perm("videos.publish_video")


class _CatalogueAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    list_display = ["name", "usage"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(usage_count=Count("videos", distinct=True))

    @admin.display(description="Videos", ordering="usage_count")
    def usage(self, obj):
        return obj.usage_count


@admin.register(Tag)
class TagAdmin(_CatalogueAdmin):
    readonly_fields = ["slug"]


@admin.register(Category)
class CategoryAdmin(_CatalogueAdmin):
    readonly_fields = ["slug"]


@admin.register(Surgeon)
class SurgeonAdmin(_CatalogueAdmin):
    list_display = ["name", "specialty", "user", "usage"]
    search_fields = ["name", "specialty"]
    autocomplete_fields = ["user"]


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
