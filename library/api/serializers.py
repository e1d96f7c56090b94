"""Shapes of the library API. Writes go through library.services."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from videos.api.serializers import VideoOutput

from ..models import Playlist, PlaylistItem, WatchProgress


class ProgressInput(serializers.Serializer):
    position = serializers.FloatField(min_value=0)
    duration = serializers.FloatField(min_value=0, required=False, allow_null=True)


class ProgressOutput(serializers.Serializer):
    position = serializers.FloatField()
    duration = serializers.FloatField()
    completed = serializers.BooleanField()
    percent = serializers.IntegerField()
    updated_at = serializers.DateTimeField(allow_null=True)


class HistoryEntryOutput(serializers.ModelSerializer):
    video = VideoOutput()
    percent = serializers.IntegerField()
    last_watched = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = WatchProgress
        fields = ["video", "position", "duration", "percent", "completed", "first_watched_at", "last_watched"]


class FavoriteOutput(serializers.Serializer):
    video = VideoOutput()
    favorited_at = serializers.DateTimeField(source="created_at")


class PlaylistOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    item_count = serializers.IntegerField()
    can_edit = serializers.SerializerMethodField()

    class Meta:
        model = Playlist
        fields = [
            "id",
            "title",
            "description",
            "is_shared",
            "owner",
            "item_count",
            "can_edit",
            "created_at",
            "updated_at",
        ]

    def get_can_edit(self, playlist) -> bool:
        return playlist.can_edit(self.context["request"].user)


class PlaylistInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    is_shared = serializers.BooleanField(required=False, default=False)


class PlaylistItemOutput(serializers.ModelSerializer):
    video = VideoOutput()

    class Meta:
        model = PlaylistItem
        fields = ["id", "position", "start_time", "end_time", "note", "added_at", "video"]


class PlaylistItemInput(serializers.Serializer):
    video = serializers.UUIDField()
    start_time = serializers.FloatField(min_value=0, required=False, allow_null=True)
    end_time = serializers.FloatField(min_value=0, required=False, allow_null=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ReorderInput(serializers.Serializer):
    order = serializers.ListField(child=serializers.IntegerField(), allow_empty=True)


# ------------------------------------------------------------------------------ schema-only shapes


class ViewStartOutput(serializers.Serializer):
    counted = serializers.BooleanField(help_text="True: a new viewing session started and the view count went up.")
    views = serializers.IntegerField(help_text="The video's view count after this call.")


class FavoriteStateOutput(serializers.Serializer):
    detail = serializers.CharField()
    is_favorite = serializers.BooleanField()


@extend_schema_serializer(many=False)
class HistoryPageOutput(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = HistoryEntryOutput(many=True)
    total_seconds_watched = serializers.IntegerField(help_text="Everything you have watched, in seconds.")
