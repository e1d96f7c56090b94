"""Admin for privacy: scans with their ranges (decisions go through privacy.services), and masks."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from . import services
from .models import Mask, PrivacyRange, PrivacyScan


class RangeInline(admin.TabularInline):
    model = PrivacyRange
    fields = ["start", "end", "kinds", "confidence", "decision", "reason", "decided_by", "decided_at", "hand_made"]
    readonly_fields = fields  # decided through the review page, the API or the actions below: audited there
    extra = 0
    can_delete = False


@admin.register(PrivacyScan)
class PrivacyScanAdmin(admin.ModelAdmin):
    list_display = ["video", "status", "scanned_at", "frames", "cpu_seconds"]
    list_filter = ["status"]
    search_fields = ["video__title"]
    readonly_fields = [
        "video", "status", "scanned_at", "frames", "cpu_seconds", "applying_token", "redacted_name",
        "failure_reason", "updated_at",
    ]  # fmt: skip
    inlines = [RangeInline]
    actions = ["apply"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Apply the privacy decisions (re-encode)")
    def apply(self, request, queryset):
        for scan in queryset.select_related("video"):
            try:
                services.privacy_apply(user=request.user, video=scan.video)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(
                    request, f"{scan.video}: {' '.join(getattr(error, 'messages', [str(error)]))}", messages.ERROR
                )
            else:
                self.message_user(request, f"{scan.video}: applying.")


@admin.register(PrivacyRange)
class PrivacyRangeAdmin(admin.ModelAdmin):
    list_display = ["scan", "label", "kinds", "confidence", "decision", "decided_by", "hand_made"]
    list_filter = ["decision", "hand_made"]
    search_fields = ["scan__video__title"]
    readonly_fields = [
        "scan",
        "start",
        "end",
        "kinds",
        "confidence",
        "decision",
        "reason",
        "decided_by",
        "decided_at",
        "hand_made",
    ]
    actions = ["blur", "black", "cut"]

    def has_add_permission(self, request):
        return False

    def _decide(self, request, queryset, decision):
        for privacy_range in queryset.select_related("scan__video"):
            try:
                services.range_decide(user=request.user, privacy_range=privacy_range, decision=decision)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(
                    request, f"{privacy_range}: {' '.join(getattr(error, 'messages', [str(error)]))}", messages.ERROR
                )

    @admin.action(description="Decide: blur")
    def blur(self, request, queryset):
        self._decide(request, queryset, "blur")

    @admin.action(description="Decide: black out")
    def black(self, request, queryset):
        self._decide(request, queryset, "black")

    @admin.action(description="Decide: cut")
    def cut(self, request, queryset):
        self._decide(request, queryset, "cut")


class MaskForm(forms.ModelForm):
    class Meta:
        model = Mask
        fields = ["name", "rectangles", "video", "category", "uploader"]
        help_texts = {
            "rectangles": "[[x, y, w, h], …] in fractions of the picture (0–1), e.g. [[0, 0, 0.25, 0.2]] for the top-left corner.",
        }

    def clean(self):
        data = super().clean()
        probe = Mask(
            rectangles=data.get("rectangles"),
            video=data.get("video"),
            category=data.get("category"),
            uploader=data.get("uploader"),
        )
        services.mask_clean(probe)  # a ValidationError becomes the form's error
        return data


@admin.register(Mask)
class MaskAdmin(admin.ModelAdmin):
    form = MaskForm
    list_display = ["name", "video", "category", "uploader", "created_at"]
    autocomplete_fields = ["video", "category", "uploader"]
