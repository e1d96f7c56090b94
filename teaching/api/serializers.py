"""Shapes of the teaching API. Writes go through teaching.services; inputs are passed on as sent for them to judge."""

from django.utils.html import urlize
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import captions
from ..models import Caption, Comment, Notification, may_moderate


class ChapterOutput(serializers.Serializer):
    start = serializers.FloatField(help_text="Seconds.")
    end = serializers.FloatField(help_text="The next chapter's start, or the video's duration.")
    title = serializers.CharField()
    step = serializers.IntegerField(allow_null=True, help_text="A step of the category's vocabulary, or null.")


class ChapterInput(serializers.Serializer):
    """Schema only: the PUT body is a list of these (the service checks each and names the item)."""

    start = serializers.FloatField()
    title = serializers.CharField(max_length=120)
    step = serializers.IntegerField(allow_null=True, required=False)


def body_html(body: str) -> str:
    """Plain text escaped, web addresses made links (rel=nofollow); line breaks are kept by CSS."""
    return urlize(body, nofollow=True, autoescape=True)


class CommentOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username")
    body_html = serializers.SerializerMethodField(help_text="The body escaped, links made clickable.")
    can_change = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = [
            "id",
            "body",
            "body_html",
            "at",
            "end",
            "parent",
            "private",
            "author",
            "created_at",
            "edited_at",
            "can_change",
        ]

    def get_body_html(self, comment) -> str:
        return body_html(comment.body)

    def get_can_change(self, comment) -> bool:
        user = self.context["request"].user
        return comment.author_id == user.pk or (not comment.private and may_moderate(user))


class CommentInput(serializers.Serializer):
    """Schema only: the service judges the values (and names the field)."""

    body = serializers.CharField(max_length=5000)
    at = serializers.FloatField(allow_null=True, required=False)
    end = serializers.FloatField(allow_null=True, required=False)
    parent = serializers.IntegerField(allow_null=True, required=False)
    private = serializers.BooleanField(required=False)


class CaptionOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(
        help_text="The WebVTT file, signed for you (valid for hours, like posters)."
    )

    class Meta:
        model = Caption
        fields = ["id", "language", "label", "machine_made", "url", "created_at"]

    def get_url(self, caption) -> str:
        return captions.signed_url(self.context["video"].uuid, caption.pk, self.context["request"].user.pk)


class CaptionInput(serializers.Serializer):
    """Schema only."""

    file = serializers.FileField(help_text="WebVTT or SRT, UTF-8.")
    language = serializers.CharField(help_text="BCP 47, e.g. en or pt-BR.")
    label = serializers.CharField(required=False, help_text="What the CC menu shows (default: the language).")


class NotificationOutput(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)
    video = serializers.UUIDField(source="video.uuid")
    video_title = serializers.CharField(source="video.title")
    comment = serializers.IntegerField(source="comment_id", allow_null=True)
    at = serializers.FloatField(source="comment.at", default=None)
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "actor", "video", "video_title", "comment", "at", "created_at", "read"]

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


@extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
class IdList(serializers.ListField):
    child = serializers.IntegerField(min_value=1)


class NotificationsReadInput(serializers.Serializer):
    ids = IdList(required=False, help_text="Which to mark read (default: all).")
