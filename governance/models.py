"""
Governance records (issue #17): a video's consent, its legal hold, the retention policy of a
category, the queue of videos due for deletion, and the access reviews of accounts.

Videos knows none of these: governance hands its rules down through the hooks videos offers
(the publish gate, delete checks, upload extras, review panels), registered in ``apps.py``.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from videos.models import Category, Video


class Consent(models.Model):
    """What the patient agreed to for one video; who recorded it and when (each change audited)."""

    class Status(models.TextChoices):
        OBTAINED = "obtained", "Obtained"
        NOT_REQUIRED = "not_required", "Not required"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Purpose(models.TextChoices):
        TEACHING = "teaching", "Teaching"
        RESEARCH = "research", "Research"
        CLINICAL_RECORD = "clinical_record", "Clinical record"

    video = models.OneToOneField(Video, on_delete=models.CASCADE, related_name="consent")
    status = models.CharField(max_length=16, choices=Status.choices)
    purpose = models.CharField(max_length=16, choices=Purpose.choices, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["obtained", "not_required", "withdrawn"]), name="consent_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(purpose__in=["", "teaching", "research", "clinical_record"]),
                name="consent_purpose_valid",
            ),
            # Consent is always consent to something.
            models.CheckConstraint(
                condition=~models.Q(status="obtained", purpose=""), name="consent_obtained_has_purpose"
            ),
        ]

    def __str__(self):
        purpose = f" ({self.get_purpose_display().lower()})" if self.purpose else ""
        return f"{self.get_status_display()}{purpose}"


class LegalHold(models.Model):
    """
    A video that must not be deleted by anyone or anything (litigation, an inquiry): while the
    row exists every delete door refuses, retention and the originals job skip it.
    """

    video = models.OneToOneField(Video, on_delete=models.CASCADE, related_name="legal_hold")
    reason = models.CharField(max_length=500)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        permissions = [("set_legal_hold", "Can set and release legal holds on videos")]
        constraints = [models.CheckConstraint(condition=~models.Q(reason=""), name="legal_hold_has_reason")]

    def __str__(self):
        return f"Legal hold on {self.video_id}"


class RetentionPolicy(models.Model):
    """Keep the videos of ``category`` ``keep_years`` years after publishing (or processing), then list them for deletion."""

    category = models.OneToOneField(Category, on_delete=models.CASCADE, related_name="retention_policy")
    keep_years = models.PositiveSmallIntegerField(
        help_text="Years after publishing (or processing, if never published)."
    )

    class Meta:
        verbose_name_plural = "retention policies"
        ordering = ["category__name"]
        constraints = [models.CheckConstraint(condition=models.Q(keep_years__gte=1), name="retention_keep_years_min_1")]

    def __str__(self):
        return f"{self.category}: {self.keep_years} year(s)"


class DeletionDueQuerySet(models.QuerySet):
    def pending(self):
        """Listed, not yet confirmed by an Admin."""
        return self.filter(confirmed_at__isnull=True)

    def confirmed(self):
        """Confirmed by an Admin, waiting for the deletion to run (or held since)."""
        return self.filter(confirmed_at__isnull=False)


class DeletionDue(models.Model):
    """A video the retention rules say should go; deleted only once an Admin confirms."""

    class Reason(models.TextChoices):
        RETENTION = "retention", "Retention period over"
        CONSENT_WITHDRAWN = "consent_withdrawn", "Consent withdrawn"

    video = models.OneToOneField(Video, on_delete=models.CASCADE, related_name="deletion_due")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    due_since = models.DateTimeField(help_text="When the video became due.")
    listed_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Why the last attempt to delete it did not (a legal hold set after the confirmation).
    blocked = models.CharField(max_length=500, blank=True)

    objects = DeletionDueQuerySet.as_manager()

    class Meta:
        verbose_name = "video due for deletion"
        verbose_name_plural = "videos due for deletion"
        ordering = ["due_since", "id"]
        permissions = [("confirm_deletion", "Can confirm the deletion of videos due for deletion")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reason__in=["retention", "consent_withdrawn"]), name="deletion_due_reason_valid"
            )
        ]

    def __str__(self):
        return f"{self.video} — {self.get_reason_display()}"


class AccessReview(models.Model):
    """One decision of an access review: an Admin confirmed or revoked an account's roles."""

    class Decision(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        REVOKED = "revoked", "Revoked"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    roles = models.JSONField(default=list, help_text="The roles the account had when reviewed.")
    reviewed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        permissions = [
            ("review_access", "Can review who holds which role (the access review)"),
            ("download_original", "Can download uploaded originals (with a reason, audited)"),
        ]
        indexes = [models.Index(fields=["user", "-reviewed_at"], name="access_review_user_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision__in=["confirmed", "revoked"]), name="access_review_valid"
            )
        ]

    def __str__(self):
        return f"{self.user} {self.decision} {self.reviewed_at:%Y-%m-%d}"
