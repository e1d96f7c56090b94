"""
Teaching on a case (issue #16): a step vocabulary per category, chapters on a video's
timeline, timestamped comments (replies one level deep, private notes, mentions), the
notifications mentions send, and captions kept as WebVTT with their cues for search.

Who may read or write them is decided here, once (``CommentQuerySet.visible_to``,
``may_write_chapters``…); the services, API views and pages ask these.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from videos import rights
from videos.models import Category, Video

TITLE_MAX = 120
BODY_MAX = 5000


def may_write_chapters(video: Video, user) -> bool:
    """The owner and Editors+ set a video's chapters and captions (the same right as editing it)."""
    return video.can_edit(user)


def may_moderate(user) -> bool:
    """Editors+ edit and delete anyone's (non-private) comments."""
    return rights.may_edit_any(user)


class Step(models.Model):
    """One step of a procedure's vocabulary (a category's), in the order it usually happens."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=TITLE_MAX)
    position = models.PositiveIntegerField(default=0, help_text="Order within the category (smallest first).")
    colour = models.CharField(
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Give a colour as #rrggbb.")],
        help_text="Optional, as #rrggbb: the chapter's marker on the seek bar.",
    )

    class Meta:
        ordering = ["category__name", "position", "id"]
        constraints = [
            models.UniqueConstraint("category", Lower("name"), name="teaching_step_name_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(colour="") | models.Q(colour__regex=r"^#[0-9a-fA-F]{6}$"),
                name="teaching_step_colour_valid",
            ),
        ]

    def __str__(self):
        return f"{self.category.name}: {self.name}"


class Chapter(models.Model):
    """A named part of a video from ``start`` to the next chapter's start (or the end)."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="chapters")
    start = models.FloatField(help_text="Seconds.")
    title = models.CharField(max_length=TITLE_MAX)
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="chapters")

    class Meta:
        ordering = ["video", "start"]
        constraints = [
            models.UniqueConstraint(fields=["video", "start"], name="teaching_chapter_start_unique"),
            models.CheckConstraint(condition=models.Q(start__gte=0), name="teaching_chapter_start_positive"),
        ]
        indexes = [models.Index(fields=["step", "video"], name="teaching_chapter_step_idx")]

    def __str__(self):
        return self.title


def chapter_list(video: Video, chapters=None) -> list[dict]:
    """``[{start, end, title, step}]`` sorted by start; ``end`` is the next start or the duration."""
    chapters = sorted(video.chapters.all() if chapters is None else chapters, key=lambda chapter: chapter.start)
    rows = []
    for index, chapter in enumerate(chapters):
        end = chapters[index + 1].start if index + 1 < len(chapters) else max(video.duration, chapter.start)
        rows.append({"start": chapter.start, "end": end, "title": chapter.title, "step": chapter.step_id})
    return rows


class CommentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Comments ``user`` may read: everyone's shared ones and their own private notes (the video is checked first)."""
        if not rights.may_watch(user):
            return self.none()
        return self.filter(models.Q(private=False) | models.Q(author=user))

    def for_video(self, video, user):
        """The discussion of ``video`` as ``user`` sees it, oldest first, in two queries at most."""
        return self.visible_to(user).filter(video=video).select_related("author").order_by("created_at", "id")


class Comment(models.Model):
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="video_comments")
    body = models.TextField(max_length=BODY_MAX)
    at = models.FloatField(null=True, blank=True, help_text="Seconds: the moment it is about (null: the whole video).")
    end = models.FloatField(null=True, blank=True, help_text="Seconds: the end of the range it is about.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    private = models.BooleanField(default=False, help_text="A note only its author sees.")
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["video", "created_at"], name="teaching_comment_video_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(at__isnull=True) | models.Q(at__gte=0), name="teaching_at_min"),
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | (models.Q(at__isnull=False) & models.Q(end__gt=models.F("at"))),
                name="teaching_end_after_at",
            ),
        ]

    def __str__(self):
        return f"{self.author} on {self.video_id}: {self.body[:40]}"

    def can_change(self, user) -> bool:
        """Its author; Editors+ for a comment everyone sees (a private note is its author's alone)."""
        if not rights.may_watch(user):
            return False
        return self.author_id == user.pk or (not self.private and may_moderate(user))


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user):
        """``user``'s notifications, newest first, with what a list row shows."""
        return self.filter(user=user).select_related("actor", "video", "comment").order_by("-created_at", "-id")

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    class Kind(models.TextChoices):
        MENTION = "mention", "Mentioned you"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MENTION)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="teaching_notification_unread")]
        constraints = [models.CheckConstraint(condition=models.Q(kind__in=["mention"]), name="teaching_kind_valid")]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.user_id})"


class Caption(models.Model):
    """A caption track of a video, stored as WebVTT at ``captions.relative_path(video uuid, id)``."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="captions")
    language = models.CharField(max_length=35, help_text="BCP 47, e.g. en or pt-BR.")
    label = models.CharField(max_length=80)
    machine_made = models.BooleanField(
        default=False,
        help_text="Made by speech-to-text (teaching.speech): a draft for an editor to correct. "
        "An editor's upload in its language replaces it and clears this.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["video", "language", "id"]

    def __str__(self):
        return f"{self.label} ({self.language})"


class CaptionCue(models.Model):
    """One cue of a caption, as plain text, so search finds words said in a video and when."""

    caption = models.ForeignKey(Caption, on_delete=models.CASCADE, related_name="cues")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="+")
    start = models.FloatField()
    end = models.FloatField()
    text = models.TextField()

    class Meta:
        ordering = ["caption", "start", "id"]
        indexes = [models.Index(fields=["video", "start"], name="teaching_cue_video_idx")]

    def __str__(self):
        return f"{self.start:.1f}s {self.text[:40]}"


class VideoCaptionText(models.Model):
    """
    Every caption cue of a video as one text (teaching.search.caption_text_refresh keeps it),
    so SQLite's search asks "does any cue of this video say it" of one row per video instead
    of every cue of the library.
    """

    video = models.OneToOneField(Video, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()

    def __str__(self):
        return f"captions of video {self.video_id}"


class Transcription(models.Model):
    """
    The speech-to-text job of a video (teaching.speech): whether its draft captions are being
    made, were made, were not needed (no audio, a person's track already there) or failed, and
    why, for the editors who would otherwise wonder where they are.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Being made"
        DONE = "done", "Made"
        SKIPPED = "skipped", "Not made"
        FAILED = "failed", "Failed"

    video = models.OneToOneField(Video, on_delete=models.CASCADE, related_name="transcription")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it was not made, or failed.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "done", "skipped", "failed"]),
                name="teaching_transcription_status_valid",
            )
        ]

    def __str__(self):
        return f"{self.get_status_display()} ({self.video_id})"
