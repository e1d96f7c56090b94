"""The privacy panel of the review page (registered in PrivacyConfig.ready through videos' register_review_panel)."""

from django.conf import settings
from django.urls import reverse

from . import rights
from .models import Decision, PrivacyScan, hms


def review_panel(video, user) -> dict:
    """What templates/privacy/_review_panel.html shows: the scan, its ranges on the timeline, what ``user`` may do."""
    if not rights.may_read(user, video):
        return {"shown": False}
    scan = PrivacyScan.objects.filter(video_id=video.pk).first()
    ranges = list(scan.ranges.select_related("decided_by")) if scan else []
    duration = video.duration or max((r.end for r in ranges), default=0) or 1
    return {
        "shown": True,
        "scan": scan,
        # Never scanned: waiting for it, or (PRIVACY_SCAN off) not going to be.
        "status": scan.status if scan else ("pending" if settings.PRIVACY_SCAN else "unscanned"),
        "ranges": [
            {
                "range": r,
                "label": r.label,
                "left": round(100 * r.start / duration, 3),
                "width": max(0.5, round(100 * (r.end - r.start) / duration, 3)),
                "decide_url": reverse("privacy:decide", kwargs={"video_uuid": video.uuid, "range_id": r.pk}),
            }
            for r in ranges
        ],
        "undecided": sum(r.decision == Decision.UNDECIDED for r in ranges),
        "duration": hms(duration),
        "may_decide": rights.may_decide(user, video),
        "decisions": [(value, label) for value, label in Decision.choices if value != Decision.UNDECIDED],
        "add_url": reverse("privacy:add", kwargs={"video_uuid": video.uuid}),
        "apply_url": reverse("privacy:apply", kwargs={"video_uuid": video.uuid}),
    }
