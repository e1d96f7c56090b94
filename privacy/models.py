"""
Patient privacy (issue #17): what the privacy scan found in a video (``PrivacyScan`` and its
``PrivacyRange``s), what was decided for each stretch, and the ``Mask``s (rectangles blurred
for a whole video, kept as presets per category or uploader).

Only time ranges, kinds and confidences are stored: never a frame, never recognised text.
Times are seconds of the original recording, counted from its first frame.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from videos.models import Category, Video


def hms(seconds: float) -> str:
    """``75.4`` → "0:01:15": how a range is named to people (h:mm:ss)."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class ScanStatus(models.TextChoices):
    PENDING = "pending", "Scan pending"
    CLEAN = "clean", "Nothing identifying found"
    FLAGGED = "flagged", "Identifying stretches found"
    RESOLVED = "resolved", "Decisions applied"


class Decision(models.TextChoices):
    UNDECIDED = "undecided", "Undecided"
    BLUR = "blur", "Blur"
    BLACK = "black", "Black out"
    CUT = "cut", "Cut"
    KEEP = "keep", "Keep"


class PrivacyScan(models.Model):
    """One per video: where its privacy scan stands, and what it cost."""

    Status = ScanStatus

    video = models.OneToOneField(Video, on_delete=models.CASCADE, related_name="privacy_scan")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    scanned_at = models.DateTimeField(null=True, blank=True)
    frames = models.PositiveIntegerField(default=0, help_text="Frames sampled.")
    cpu_seconds = models.FloatField(default=0, help_text="What the scan cost (its FFmpeg and the classifiers).")
    # The reprocess that renders the decisions: its job token while it runs, None otherwise.
    applying_token = models.UUIDField(null=True, blank=True)
    # The redacted recording the transcode reads instead of the original (privacy_dir), once rendered.
    redacted_name = models.CharField(max_length=80, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ScanStatus.values), name="privacyscan_status_valid")
        ]

    def __str__(self):
        return f"{self.video}: {self.get_status_display()}"

    @property
    def applying(self) -> bool:
        return self.applying_token is not None


class PrivacyRangeQuerySet(models.QuerySet):
    def undecided(self):
        """Ranges no one has decided yet: they keep the video from being published."""
        return self.filter(decision=PrivacyRange.Decision.UNDECIDED)

    def redacting(self):
        """Ranges whose decision changes the picture (blur, black, cut)."""
        return self.exclude(decision__in=[PrivacyRange.Decision.UNDECIDED, PrivacyRange.Decision.KEEP])


class PrivacyRange(models.Model):
    """A stretch ``[start, end)`` of a video likely to identify someone, and what was decided."""

    class Kind(models.TextChoices):
        OUT_OF_BODY = "out_of_body", "Out of body"
        FACE = "face", "Face"
        TEXT = "text", "Burned-in text"
        MANUAL = "manual", "Marked by hand"

    Decision = Decision

    scan = models.ForeignKey(PrivacyScan, on_delete=models.CASCADE, related_name="ranges")
    start = models.FloatField()
    end = models.FloatField()
    kinds = models.JSONField(default=list)
    confidence = models.FloatField(default=1.0)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.UNDECIDED)
    reason = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    hand_made = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PrivacyRangeQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(decision__in=Decision.values), name="privacyrange_decision_valid"),
            models.CheckConstraint(condition=Q(start__gte=0) & Q(end__gt=models.F("start")), name="privacyrange_order"),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1), name="privacyrange_confidence"
            ),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return f"{hms(self.start)}–{hms(self.end)}"


class MaskQuerySet(models.QuerySet):
    def for_video(self, video: Video):
        """The masks blurred over ``video``: its own, its category's presets, its uploader's presets."""
        scope = Q(video=video) | Q(uploader_id=video.uploader_id)
        if video.category_id:
            scope |= Q(category_id=video.category_id)
        return self.filter(scope)


class Mask(models.Model):
    """
    Rectangles blurred over a whole video on every rung (the tower's overlay corner, say). One
    scope each: a video, or a preset for every video of a category or of an uploader.
    ``rectangles`` are ``[[x, y, w, h], ...]`` in fractions of the picture (0–1), so one
    mask fits every rung and every source size.
    """

    name = models.CharField(max_length=80)
    rectangles = models.JSONField(default=list)
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="privacy_masks")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="privacy_masks"
    )
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="privacy_masks"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MaskQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(video__isnull=False, category__isnull=True, uploader__isnull=True)
                    | Q(video__isnull=True, category__isnull=False, uploader__isnull=True)
                    | Q(video__isnull=True, category__isnull=True, uploader__isnull=False)
                ),
                name="mask_one_scope",
            )
        ]

    def __str__(self):
        return self.name
