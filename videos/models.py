"""
Videos and their catalogue: categories, tags, surgeons, renditions, and resumable uploads.

Who may see or change a video is decided here, once, by ``VideoQuerySet.visible_to`` and
``Video.can_*``; every page, API view and admin screen uses them.
"""

import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django.utils.text import slugify

from . import rights, storage
from .rights import may_watch, sees_all_videos


class CatalogueQuerySet(models.QuerySet):
    def by_names(self, names):
        """Rows whose name matches one of ``names``, ignoring case."""
        query = models.Q()
        for name in names:
            query |= models.Q(name__iexact=name.strip())
        return self.filter(query) if names else self.none()


class NamedSlugModel(models.Model):
    """A catalogue entry named once, ignoring case, with a slug for its page."""

    objects = CatalogueQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="%(class)s_name_ci_unique")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = _unique_slug(type(self), self.name)
        super().save(*args, **kwargs)


class Category(NamedSlugModel):
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=90, unique=True)
    description = models.TextField(blank=True)

    class Meta(NamedSlugModel.Meta):
        verbose_name_plural = "categories"


class Tag(NamedSlugModel):
    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=70, unique=True)


class Surgeon(models.Model):
    """A person who operates in recorded cases; optionally linked to their user account."""

    name = models.CharField(max_length=120)
    specialty = models.CharField(max_length=120, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="surgeon_profiles"
    )
    bio = models.TextField(blank=True)

    objects = CatalogueQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.specialty})" if self.specialty else self.name


def _unique_slug(model, name: str) -> str:
    base = slugify(name)[:60] or "item"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def visible_q(user, prefix: str = "") -> models.Q:
    """
    ``visible_to`` as a condition, for rows that point at a video (``prefix="video__"``): a
    join instead of an ``IN (all visible ids)`` subquery, which SQLite would build in full.
    """
    if not may_watch(user):
        return models.Q(pk__in=[])
    if sees_all_videos(user):
        return models.Q()
    return models.Q(**{f"{prefix}status": Video.Status.PUBLISHED}) | models.Q(**{f"{prefix}uploader": user})


# Functions ``user -> {name: expression}`` that ``VideoQuerySet.with_viewer_state`` applies;
# library registers its favourites and resume positions in ``LibraryConfig.ready``.
viewer_state_annotations: list = []


def register_viewer_state(annotations) -> None:
    """Have ``with_viewer_state(user)`` also annotate ``annotations(user)`` (``{name: expression}``); once each."""
    if annotations not in viewer_state_annotations:
        viewer_state_annotations.append(annotations)


class VideoQuerySet(models.QuerySet):
    def visible_to(self, user):
        """
        Videos ``user`` may see (DESIGN §5): Viewers see published ones; uploaders also
        their own; Editors, Approvers and Admins everything. Anonymous users, and accounts
        without a role (no ``videos.view_video``), see nothing.
        """
        if not may_watch(user):
            return self.none()
        return self.filter(visible_q(user))

    def visible_or_404(self, user, video_uuid) -> "Video":
        """
        The video ``video_uuid`` from this queryset if ``user`` may see it, else ``Http404``
        (never 403: someone who may not see a video cannot learn that it exists). The one
        lookup every page and API view of a single video starts with.
        """
        from django.shortcuts import get_object_or_404

        return get_object_or_404(self.visible_to(user), uuid=video_uuid)

    def playable(self):
        """
        Videos that can be played: a finished ladder (awaiting review or published), or the
        start of one still being encoded (``ready_seconds``).
        """
        return self.filter(
            models.Q(status__in=Video.PLAYABLE) | models.Q(status__in=Video.WORKING, ready_seconds__gt=0)
        )

    def published(self):
        return self.filter(status=Video.Status.PUBLISHED)

    def published_for(self, user):
        """
        Published videos ``user`` may see: every one for anyone who may watch, none otherwise.
        No visibility OR, so the (status, published_at) and (status, views) indexes serve the
        home page's lists directly.
        """
        return self.published() if may_watch(user) else self.none()

    def related_to(self, video):
        """
        Videos sharing tags, surgeons or the category with ``video``, most shared first
        (each tag and surgeon counts one, the category one), then the most viewed.
        ``video`` must come from ``with_catalogue()`` (its tags and surgeons are prefetched).
        """
        tag_ids = [tag.pk for tag in video.tags.all()]
        surgeon_ids = [role.surgeon_id for role in video.video_surgeons.all()]
        if not (tag_ids or surgeon_ids or video.category_id):
            return self.none()
        shared = models.Value(0)
        if tag_ids:
            tags = Video.tags.through.objects.filter(video_id=models.OuterRef("pk"), tag_id__in=tag_ids)
            count = tags.values("video_id").annotate(n=models.Count("pk")).values("n")
            shared += Coalesce(models.Subquery(count), 0)
        if surgeon_ids:
            credits = VideoSurgeon.objects.filter(video_id=models.OuterRef("pk"), surgeon_id__in=surgeon_ids)
            count = credits.values("video_id").annotate(n=models.Count("surgeon_id", distinct=True)).values("n")
            shared += Coalesce(models.Subquery(count), 0)
        if video.category_id:
            shared += models.Case(models.When(category_id=video.category_id, then=1), default=0)
        return (
            self.exclude(pk=video.pk)
            .annotate(shared=shared)
            .filter(shared__gt=0)
            .order_by("-shared", "-views", "-created_at", "-id")
        )

    def related_for(self, video, user):
        """Published videos ``user`` may see related to ``video`` (``related_to``), ready to show: one read for page and API."""
        return self.visible_to(user).published().related_to(video).with_catalogue().with_viewer_state(user)

    def with_viewer_state(self, user):
        """
        Annotate what the apps above keep per viewer for ``user`` (no query per row): whatever
        ``register_viewer_state`` was given (library: ``is_favorite``, ``position``,
        ``watch_completed``), so videos imports none of them.
        """
        annotations = {}
        for annotate in viewer_state_annotations:
            annotations.update(annotate(user))
        return self.annotate(**annotations)

    def with_catalogue(self):
        """Everything a card or list row shows, in a constant number of queries."""
        return self.select_related("category", "uploader").prefetch_related(
            "tags", models.Prefetch("video_surgeons", queryset=VideoSurgeon.objects.select_related("surgeon"))
        )


class Video(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Queued"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Awaiting review"
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected"
        ARCHIVED = "archived", "Archived"
        FAILED = "failed", "Failed"

    PLAYABLE = [Status.PROCESSED, Status.PUBLISHED]
    WORKING = [Status.PENDING, Status.PROCESSING]

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    transcript = models.TextField(blank=True)
    search_terms = models.TextField(
        blank=True, editable=False, help_text="Tag, surgeon and category names, for search (videos.search_index)."
    )
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="videos")
    tags = models.ManyToManyField(Tag, blank=True, related_name="videos")
    surgeons = models.ManyToManyField(Surgeon, through="VideoSurgeon", blank=True, related_name="videos")
    date_of_surgery = models.DateField(null=True, blank=True)
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="uploaded_videos")

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    review_note = models.CharField(max_length=500, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Transcoding progress, 0–100.")
    # Seconds of the served ladder that can be played from the start: the whole video once
    # processed; while a first encode runs, how far its finished chunks reach (they play at once).
    ready_seconds = models.FloatField(default=0)
    # Identifies the job currently allowed to write results; a reaped or superseded job finds
    # a different token and leaves the row alone.
    job_token = models.UUIDField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    original_name = models.CharField(max_length=255, blank=True, help_text="File name as uploaded.")
    original_path = models.CharField(max_length=255, blank=True, editable=False, help_text="Relative to MEDIA_ROOT.")
    size_bytes = models.BigIntegerField(default=0)
    md5 = models.CharField(max_length=32, editable=False)
    duration = models.FloatField(default=0, help_text="Seconds.")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    frame_rate = models.FloatField(default=0)
    video_codec = models.CharField(max_length=40, blank=True)
    audio_codec = models.CharField(max_length=40, blank=True)
    container = models.CharField(max_length=80, blank=True)
    # Video streams of the recording beyond the one published (a second camera angle):
    # {index, codec, width, height} each, as the transcode found them (issue #14 item 7).
    extra_video_streams = models.JSONField(default=list, blank=True, editable=False)

    # AES-128 key and IV for the HLS ladder: in the database only (DESIGN §6.3).
    hls_key = models.BinaryField(max_length=16, null=True, blank=True, editable=False)
    hls_iv = models.CharField(max_length=32, blank=True, editable=False)
    has_poster = models.BooleanField(default=False, editable=False)
    has_storyboard = models.BooleanField(default=False, editable=False)

    # Signed media URLs of this video issued before this moment are void (videos.revocation):
    # set when the video stops being published.
    media_revoked_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)

    views = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VideoQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("upload_video", "Can upload videos"),
            ("publish_video", "Can publish, reject and archive videos"),
            ("view_all_videos", "Can see videos in every state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["pending", "processing", "processed", "published", "rejected", "archived", "failed"]
                ),
                name="video_status_valid",
            ),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="video_progress_max_100"),
            # Identical content is stored once (DESIGN §6.1).
            models.UniqueConstraint(fields=["md5", "size_bytes"], name="video_content_unique"),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="video_status_created_idx"),
            # Home's "recently added" and "most viewed" read the top of these (no sort of every row).
            models.Index(fields=["status", "-published_at", "-created_at"], name="video_status_published_idx"),
            models.Index(fields=["status", "-views", "-created_at"], name="video_status_views_idx"),
        ]

    def __str__(self):
        return self.title

    # ----------------------------------------------------------------- permissions
    def can_edit(self, user) -> bool:
        """Editors and above edit any video; uploaders their own."""
        if not may_watch(user):
            return False
        return rights.may_edit_any(user) or (self.uploader_id == user.pk and rights.may_upload(user))

    def can_delete(self, user) -> bool:
        """Admins delete any video; its uploader while it is not published."""
        return self.can_edit(user) and (
            rights.may_delete_any(user) or (self.uploader_id == user.pk and self.status != self.Status.PUBLISHED)
        )

    def can_review(self, user) -> bool:
        """Approvers decide on any video: publish, reject, archive."""
        return rights.may_review(user)

    def can_reprocess(self, user) -> bool:
        return self.can_edit(user)

    # ----------------------------------------------------------------- state
    @property
    def is_playable(self) -> bool:
        """A finished ladder, or (first encode) the start of one: ``ready_seconds`` of it."""
        return self.status in self.PLAYABLE or (self.status in self.WORKING and self.ready_seconds > 0)

    @property
    def processing_eta_seconds(self) -> int | None:
        """
        Seconds until the encode is done, from how fast the finished chunks came (across every
        worker): the time since it started, scaled by what is left. None before the first chunk.
        """
        if self.job_token is None or not self.processing_started_at or not 0 < self.progress < 100:
            return None
        elapsed = (timezone.now() - self.processing_started_at).total_seconds()
        return max(1, round(elapsed * (100 - self.progress) / self.progress))

    @property
    def is_working(self) -> bool:
        return self.status in self.WORKING

    @property
    def is_settled(self) -> bool:
        """Nothing will change by itself: no job holds the video and none is waiting to run."""
        return not self.is_working and self.job_token is None

    # ----------------------------------------------------------------- files
    @property
    def hls_dir(self) -> Path:
        return storage.hls_dir(self.uuid)

    @property
    def original_file(self) -> Path | None:
        return storage.media_root() / self.original_path if self.original_path else None


class VideoSurgeon(models.Model):
    class Role(models.TextChoices):
        PRIMARY = "primary", "Primary surgeon"
        ASSISTANT = "assistant", "Assistant"
        ANAESTHETIST = "anaesthetist", "Anaesthetist"
        OBSERVER = "observer", "Observer"
        OTHER = "other", "Other"

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="video_surgeons")
    surgeon = models.ForeignKey(Surgeon, on_delete=models.CASCADE, related_name="video_roles")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PRIMARY)

    class Meta:
        ordering = ["video", "id"]
        constraints = [
            models.UniqueConstraint(fields=["video", "surgeon"], name="video_surgeon_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=["primary", "assistant", "anaesthetist", "observer", "other"]),
                name="video_surgeon_role_valid",
            ),
        ]

    def __str__(self):
        return f"{self.surgeon} — {self.get_role_display()}"


class Rendition(models.Model):
    """One rung of a video's HLS ladder."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="renditions")
    name = models.CharField(max_length=10)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bandwidth = models.PositiveIntegerField(help_text="Peak bits per second, as in the master playlist.")
    codecs = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["video", "-height"]
        constraints = [models.UniqueConstraint(fields=["video", "name"], name="rendition_name_unique")]

    def __str__(self):
        return f"{self.name} ({self.width}×{self.height})"


class UploadQuerySet(models.QuerySet):
    def expired(self):
        """Unfinished uploads past their expiry (tus expiration extension)."""
        return self.filter(completed_at__isnull=True, expires_at__lte=timezone.now())


def _upload_expiry():
    return timezone.now() + timedelta(hours=settings.UPLOAD_EXPIRY_HOURS)


class Upload(models.Model):
    """A resumable (tus 1.0) upload in progress; the bytes live in ``MEDIA_ROOT/uploads/``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    filename = models.CharField(max_length=255)
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    # The running MD5 state after ``offset`` bytes (see videos/hashing.py), so no second read.
    md5_state = models.BinaryField(null=True, blank=True, editable=False)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_upload_expiry)
    completed_at = models.DateTimeField(null=True, blank=True)
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The content was already in the library: ``video`` is that one (the client is told so).
    duplicate = models.BooleanField(default=False)

    objects = UploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(offset__lte=models.F("length")), name="upload_offset_within_length"
            ),
        ]

    def __str__(self):
        return f"{self.filename} ({self.offset}/{self.length})"

    @property
    def path(self) -> Path:
        return storage.upload_file(self.id)

    @property
    def is_expired(self) -> bool:
        return self.completed_at is None and self.expires_at <= timezone.now()


class TranscodeJob(models.Model):
    """
    One encode of a video's ladder, in chunks (videos.services.transcode). Created by the
    planning task, deleted when the ladder is complete or the job is superseded; ``token`` is
    the video's ``job_token`` while it runs. The AES key of the ladder being built lives here
    (in the database only) until it replaces the served one.
    """

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="transcode_jobs")
    token = models.UUIDField(unique=True)
    # True: the video had no playable ladder, so this one is built where it is served and plays
    # as it grows. False: a reprocess builds beside it and swaps it in when complete.
    in_place = models.BooleanField(default=True)
    key = models.BinaryField(max_length=16)
    iv = models.CharField(max_length=32)
    plan = models.JSONField(help_text="The probe, ladder and storyboard the chunks share.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"job {self.token} of {self.video_id}"


class TranscodeChunk(models.Model):
    """A stretch of the source encoded (every rung) by one task, or the whole audio rendition."""

    class Kind(models.TextChoices):
        VIDEO = "video", "Video chunk"
        AUDIO = "audio", "Audio"

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"  # not yet in the queue
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    job = models.ForeignKey(TranscodeJob, on_delete=models.CASCADE, related_name="chunks")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.VIDEO)
    index = models.PositiveIntegerField(help_text="Timeline order (the audio part is 0).")
    start = models.FloatField()
    end = models.FloatField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cpu_seconds = models.FloatField(default=0, help_text="FFmpeg's user + system CPU time for this chunk.")

    class Meta:
        ordering = ["job", "kind", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "kind", "index"], name="transcode_chunk_unique"),
            models.CheckConstraint(condition=models.Q(kind__in=["video", "audio"]), name="transcode_chunk_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(status__in=["waiting", "queued", "running", "done"]),
                name="transcode_chunk_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="transcode_chunk_status_idx")]

    def __str__(self):
        return f"{self.kind} {self.index} [{self.start:g}, {self.end:g})"
