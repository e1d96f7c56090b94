"""What governance shows on videos' pages (registered in apps.py): reads only."""

from django.urls import reverse

from . import rights
from .models import Consent, DeletionDue, LegalHold


def review_panel(video, user) -> dict:
    """The review page's governance panel: consent, the legal hold, a listed deletion."""
    consent = Consent.objects.filter(video_id=video.pk).select_related("set_by").first()
    hold = LegalHold.objects.filter(video_id=video.pk).select_related("set_by").first()
    due = DeletionDue.objects.filter(video_id=video.pk).first()
    return {
        "consent": consent,
        "hold": hold,
        "due": due,
        "statuses": Consent.Status.choices,
        "purposes": Consent.Purpose.choices,
        "may_set_consent": rights.may_set_consent(user, video) and not (consent and consent.status == "withdrawn"),
        "may_set_hold": rights.may_set_legal_hold(user),
        "consent_url": reverse("governance:consent", kwargs={"video_uuid": video.uuid}),
        "hold_url": reverse("governance:legal_hold", kwargs={"video_uuid": video.uuid}),
    }
