"""What governance shows on videos' pages (registered in apps.py): reads only."""

from django.conf import settings
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


ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def upload_panel(user) -> dict:
    """The upload page's consent fields (withdrawn is not offered: a new upload cannot start withdrawn)."""
    return {
        "statuses": [(value, label) for value, label in Consent.Status.choices if value != Consent.Status.WITHDRAWN],
        "purposes": Consent.Purpose.choices,
        "required": settings.CONSENT_REQUIRED,
        "endpoint": reverse("api:video_consent", kwargs={"video_uuid": ZERO_UUID}),
    }
