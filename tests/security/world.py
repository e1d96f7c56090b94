"""
The world the hostile tests attack: Uma (Viewer + Uploader) owns videos in several states,
playlists, an upload in progress and a history; Mallory (Viewer + Uploader) is the attacker.
``ADMIN_OBJECTS`` is a real object of each model registered in admin.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from accounts import roles
from governance.models import AccessReview, Consent, DeletionDue, LegalHold, RetentionPolicy
from library.models import Playlist, PlaylistItem
from privacy.models import Mask, PrivacyRange, PrivacyScan
from teaching import services as teaching_services
from teaching.models import Comment, Notification, Step
from tests.factories import (
    AuditEventFactory,
    CategoryFactory,
    FavoriteFactory,
    LadderVideoFactory,
    PlaylistFactory,
    PlaylistItemFactory,
    SearchSynonymFactory,
    SurgeonFactory,
    TagFactory,
    TOTPDeviceFactory,
    UserFactory,
    VideoSurgeonFactory,
    ViewEventFactory,
    WatchProgressFactory,
)
from tests.signin import signed_in
from videos import services
from videos.models import Category, Surgeon, Tag, Upload, Video


@dataclass
class World:
    owner: object
    attacker: object
    hidden: Video  # Uma's, awaiting review: Mallory may not see it
    published: Video  # Uma's, published: Mallory may see it but not change it
    rejected: Video  # Uma's, rejected: hidden from Mallory
    private: Playlist  # Uma's private playlist (both videos)
    private_item: PlaylistItem
    shared: Playlist  # Uma's shared playlist (read-only for Mallory)
    shared_item: PlaylistItem
    own: Playlist  # Mallory's own playlist
    upload: Upload  # Uma's tus upload in progress
    category: Category
    tag: Tag
    surgeon: Surgeon
    # Governance, privacy and teaching (issues #16, #17): all of it Uma's, on her hidden video
    # unless said otherwise.
    consent: Consent
    hidden_range: PrivacyRange  # a flagged stretch of the hidden video's privacy scan
    hidden_caption: object  # teaching.models.Caption, its WebVTT file on disk
    hidden_comment: Comment
    published_comment: Comment  # on the published video, everyone's to read
    private_note: Comment  # on the published video, Uma's alone
    published_caption: object
    notification: Notification  # Uma's: someone mentioned her

    def client(self, user):
        return signed_in(user)


def build_world(make_user) -> World:
    owner = make_user(roles.VIEWER, roles.UPLOADER, username="uma", full_name="Uma Owner")
    attacker = make_user(roles.VIEWER, roles.UPLOADER, username="mallory", full_name="Mallory")
    category = CategoryFactory(name="Hidden Cat")
    tag = TagFactory(name="hiddentag")
    surgeon = SurgeonFactory(name="Dr Secret", user=owner, bio="bio")
    hidden = LadderVideoFactory(
        uploader=owner, title="Secret Unpublished Case", status=Video.Status.PROCESSED, category=category
    )
    hidden.tags.add(tag)
    VideoSurgeonFactory(video=hidden, surgeon=surgeon)
    published = LadderVideoFactory(uploader=owner, title="Public Case", category=category)
    rejected = LadderVideoFactory(uploader=owner, title="Rejected Case", status=Video.Status.REJECTED, ladder=False)
    private = PlaylistFactory(owner=owner, title="Uma private list", description="private")
    private_item = PlaylistItemFactory(playlist=private, video=published, position=0, note="private note")
    PlaylistItemFactory(playlist=private, video=hidden, position=1)
    shared = PlaylistFactory(owner=owner, title="Uma shared list", is_shared=True)
    shared_item = PlaylistItemFactory(playlist=shared, video=published, position=0)
    PlaylistItemFactory(playlist=shared, video=hidden, position=1, note="hidden item note")
    own = PlaylistFactory(owner=attacker, title="Mallory list")
    PlaylistItemFactory(playlist=own, video=published, position=0)
    upload = services.upload_start(user=owner, filename="case.mp4", length=100, metadata={"title": "uma's upload"})
    upload.path.write_bytes(b"U" * 10)
    Upload.objects.filter(pk=upload.pk).update(offset=10)
    WatchProgressFactory(user=owner, video=published, position=42, duration=12)
    WatchProgressFactory(user=owner, video=hidden, position=7, duration=12)
    FavoriteFactory(user=owner, video=published)
    FavoriteFactory(user=owner, video=hidden)
    ViewEventFactory(user=owner, video=hidden, seconds_watched=5)
    consent = Consent.objects.create(video=hidden, status="obtained", purpose="teaching", set_by=owner)
    scan = PrivacyScan.objects.create(video=hidden, status="flagged")
    hidden_range = PrivacyRange.objects.create(scan=scan, start=1, end=3, kinds=["face"], confidence=0.9)
    hidden_caption = teaching_services.caption_add(user=owner, video=hidden, data=VTT, language="en", label="English")
    published_caption = teaching_services.caption_add(
        user=owner, video=published, data=VTT, language="en", label="English"
    )
    hidden_comment = Comment.objects.create(video=hidden, author=owner, body="hidden case comment", at=1)
    published_comment = Comment.objects.create(video=published, author=owner, body="uma's public comment")
    private_note = Comment.objects.create(video=published, author=owner, body="uma's private note", private=True)
    notification = Notification.objects.create(user=owner, actor=owner, video=hidden, comment=hidden_comment)
    return World(
        owner=owner,
        attacker=attacker,
        hidden=hidden,
        published=published,
        rejected=rejected,
        private=private,
        private_item=private_item,
        shared=shared,
        shared_item=shared_item,
        own=own,
        upload=upload,
        category=category,
        tag=tag,
        surgeon=surgeon,
        consent=consent,
        hidden_range=hidden_range,
        hidden_caption=hidden_caption,
        hidden_comment=hidden_comment,
        published_comment=published_comment,
        private_note=private_note,
        published_caption=published_caption,
        notification=notification,
    )


VTT = b"WEBVTT\n\n00:00:01.000 --> 00:00:03.000\numa's secret caption cue\n"


# ------------------------------------------------------------------------------ admin objects

# A real object of each registered model, and the admin-site roles that may NOT read it.
ADMIN_OBJECTS = {
    "accounts.user": (lambda w: w.owner.pk, ["editor", "approver"]),
    "accounts.pendingregistration": (lambda w: _pending_user().pk, ["editor", "approver"]),
    "audit.auditevent": (
        lambda w: AuditEventFactory(event="logout", actor=w.owner).pk,
        ["editor", "approver"],
    ),
    "library.viewevent": (lambda w: w.owner.view_events.first().pk, ["editor", "approver"]),
    "library.searchsynonym": (lambda w: SearchSynonymFactory(term="phaco", synonyms="cataract").pk, []),
    "videos.video": (lambda w: w.hidden.pk, []),
    "videos.tag": (lambda w: w.tag.pk, []),
    "videos.category": (lambda w: w.category.pk, []),
    "videos.surgeon": (lambda w: w.surgeon.pk, []),
    "videos.upload": (lambda w: w.upload.pk, ["editor", "approver"]),
    "otp_totp.totpdevice": (
        lambda w: TOTPDeviceFactory(user=w.owner, name="uma phone").pk,
        ["editor", "approver", "admin"],
    ),
    "axes.accessattempt": (lambda w: _attempt().pk, ["editor", "approver"]),
    "axes.accesslog": (lambda w: _access_log().pk, ["editor", "approver"]),
    "axes.accessfailurelog": (lambda w: _failure_log().pk, ["editor", "approver"]),
    "token_blacklist.outstandingtoken": (lambda w: _outstanding(w.owner).pk, ["editor", "approver", "admin"]),
    "token_blacklist.blacklistedtoken": (lambda w: _blacklisted(w.owner).pk, ["editor", "approver", "admin"]),
    "django_q.schedule": (lambda w: _schedule().pk, ["editor", "approver", "admin"]),
    "django_q.success": (lambda w: _task(True).pk, ["editor", "approver", "admin"]),
    "django_q.failure": (lambda w: _task(False).pk, ["editor", "approver", "admin"]),
    "django_q.ormq": (lambda w: _ormq().pk, ["editor", "approver", "admin"]),
    # Teaching (issue #16): the step vocabulary is the catalogue's (Editors and up).
    "teaching.step": (lambda w: Step.objects.create(category=w.category, name="Dissection").pk, []),
    # Governance (issue #17): Admins only (approvers set legal holds on the review page, not here).
    "governance.retentionpolicy": (
        lambda w: RetentionPolicy.objects.create(category=w.category, keep_years=7).pk,
        ["editor", "approver"],
    ),
    "governance.deletiondue": (
        lambda w: DeletionDue.objects.create(video=w.rejected, reason="retention", due_since=timezone.now()).pk,
        ["editor", "approver"],
    ),
    "governance.legalhold": (
        lambda w: LegalHold.objects.create(video=w.rejected, reason="Litigation 2026-114", set_by=w.owner).pk,
        ["editor", "approver"],
    ),
    "governance.accessreview": (
        lambda w: (
            AccessReview.objects.create(
                user=w.owner, decision="confirmed", roles=["Viewer"], reviewed_at=timezone.now() - timedelta(days=1)
            ).pk
        ),
        ["editor", "approver"],
    ),
    # Privacy (issue #17): approvers and Admins.
    "privacy.privacyscan": (lambda w: w.hidden_range.scan_id, ["editor"]),
    "privacy.privacyrange": (lambda w: w.hidden_range.pk, ["editor"]),
    "privacy.mask": (
        lambda w: Mask.objects.create(name="Tower overlay", rectangles=[[0, 0, 0.2, 0.1]], video=w.hidden).pk,
        ["editor"],
    ),
}


def _pending_user():
    return UserFactory(username="pendy", is_active=False, approval_status="pending")


def _attempt():
    from axes.models import AccessAttempt

    return AccessAttempt.objects.create(username="uma", ip_address="10.0.0.9", failures_since_start=1)


def _access_log():
    from axes.models import AccessLog

    return AccessLog.objects.create(username="uma", ip_address="10.0.0.9")


def _failure_log():
    from axes.models import AccessFailureLog

    return AccessFailureLog.objects.create(username="uma", ip_address="10.0.0.9")


def _outstanding(user):
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    RefreshToken.for_user(user)
    return OutstandingToken.objects.filter(user=user).first()


def _blacklisted(user):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    return BlacklistedToken.objects.create(token=_outstanding(user))


def _schedule():
    from django_q.models import Schedule

    return Schedule.objects.create(func="math.floor", args="1", name="hostile")


def _task(success: bool):
    from django.utils import timezone
    from django_q.models import Task

    return Task.objects.create(
        id=uuid.uuid4().hex,
        name=f"task-{success}",
        func="math.floor",
        started=timezone.now(),
        stopped=timezone.now(),
        success=success,
    )


def _ormq():
    from django.utils import timezone
    from django_q.models import OrmQ

    return OrmQ.objects.create(key="default", payload="x", lock=timezone.now())
