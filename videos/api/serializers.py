"""
Shapes of the videos API (DESIGN §7). Writes go through videos.services, never
serializer.save(); input serializers only shape what was sent, the services judge it.
"""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from .. import delivery
from ..models import Category, Rendition, Surgeon, Tag, Video, VideoSurgeon
from ..services.metadata import CATEGORY_MAX, MAX_ID, TAG_MAX, TEXT_MAX, TITLE_MAX

# Parts of a video's detail that apps above add (teaching: ``chapters``), ``{name: section(video, user)}``,
# registered in their AppConfig.ready, so videos imports none of them.
detail_sections: dict = {}


def register_detail_section(name: str, section) -> None:
    """Have ``VideoDetailOutput`` also carry ``name``: ``section(video, user)`` (a JSON-ready value)."""
    detail_sections[name] = section


class SurgeonRoleOutput(serializers.Serializer):
    id = serializers.IntegerField(source="surgeon.id")
    name = serializers.CharField(source="surgeon.name")
    specialty = serializers.CharField(source="surgeon.specialty")
    role = serializers.CharField()


class RenditionOutput(serializers.ModelSerializer):
    class Meta:
        model = Rendition
        fields = ["name", "width", "height", "bandwidth", "codecs"]


class VideoOutput(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid")
    category = serializers.CharField(source="category.name", default=None, allow_null=True)
    tags = serializers.SerializerMethodField()
    surgeons = serializers.SerializerMethodField()
    uploader = serializers.CharField(source="uploader.username")
    status_display = serializers.CharField(source="get_status_display")
    processing = serializers.SerializerMethodField()
    playable = serializers.BooleanField(
        source="is_playable",
        read_only=True,
        help_text="Something can be played: a finished ladder, or (while a first encode runs) its start.",
    )
    ready_seconds = serializers.FloatField(
        read_only=True, help_text="How far from the start it plays (the duration once processed)."
    )
    processing_eta_seconds = serializers.SerializerMethodField(
        help_text="While it is encoded: an estimate of the seconds left (null when unknown)."
    )
    settled = serializers.BooleanField(
        source="is_settled",
        read_only=True,
        help_text="Nothing will change by itself (no job queued or running): a client can stop polling.",
    )
    poster_url = serializers.SerializerMethodField()
    storyboard_url = serializers.SerializerMethodField()
    hls_url = serializers.SerializerMethodField()
    can_edit = serializers.SerializerMethodField()
    is_favorite = serializers.SerializerMethodField()
    position = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id",
            "title",
            "description",
            "category",
            "tags",
            "surgeons",
            "date_of_surgery",
            "uploader",
            "status",
            "status_display",
            "progress",
            "processing",
            "playable",
            "ready_seconds",
            "processing_eta_seconds",
            "settled",
            "failure_reason",
            "review_note",
            "duration",
            "width",
            "height",
            "size_bytes",
            "views",
            "created_at",
            "published_at",
            "poster_url",
            "storyboard_url",
            "hls_url",
            "can_edit",
            "is_favorite",
            "position",
        ]

    def _user(self):
        return self.context["request"].user

    def get_tags(self, video) -> list[str]:
        return [tag.name for tag in video.tags.all()]

    @extend_schema_field(SurgeonRoleOutput(many=True))
    def get_surgeons(self, video) -> list[dict]:
        return SurgeonRoleOutput(video.video_surgeons.all(), many=True).data

    def get_processing_eta_seconds(self, video) -> int | None:
        return video.processing_eta_seconds

    def get_processing(self, video) -> bool:
        return video.job_token is not None

    def get_poster_url(self, video) -> str | None:
        return delivery.image_url(video.uuid, self._user().pk) if video.has_poster else None

    def get_storyboard_url(self, video) -> str | None:
        return delivery.image_url(video.uuid, self._user().pk, "storyboard.vtt") if video.has_storyboard else None

    def get_hls_url(self, video) -> str | None:
        """A signed master playlist URL any HLS client (Safari, ffmpeg, VLC) can open."""
        if not video.is_playable:
            return None
        return self.context["request"].build_absolute_uri(delivery.master_url(video, self._user()))

    def get_can_edit(self, video) -> bool:
        return video.can_edit(self._user())

    def get_is_favorite(self, video) -> bool:
        return bool(getattr(video, "is_favorite", False))

    def get_position(self, video) -> float | None:
        """Where the caller left off (None: start at the beginning)."""
        return getattr(video, "position", None)


class VideoStreamOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="The stream's index in the recording.")
    codec = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class VideoSourceOutput(serializers.Serializer):
    """What the uploaded recording was (from ffprobe)."""

    container = serializers.CharField()
    video_codec = serializers.CharField()
    audio_codec = serializers.CharField(allow_null=True)
    frame_rate = serializers.FloatField()
    extra_video_streams = VideoStreamOutput(
        many=True,
        help_text="Video streams beyond the one published (a second camera angle): kept in the original, not played.",
    )


class VideoDetailOutput(VideoOutput):
    renditions = RenditionOutput(many=True, read_only=True)
    transcript = serializers.CharField()
    original_name = serializers.SerializerMethodField()
    md5 = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()

    class Meta(VideoOutput.Meta):
        fields = [*VideoOutput.Meta.fields, "transcript", "renditions", "original_name", "md5", "source"]

    def to_representation(self, video):
        data = super().to_representation(video)
        for name, section in detail_sections.items():
            data[name] = section(video, self._user())
        return data

    def _may_see_file(self, video) -> bool:
        # Recorder file names often carry a patient's name or record number, and the MD5
        # confirms whether a given file is in the library: the owner and Editors+ only.
        return video.can_edit(self._user())

    @extend_schema_field(
        serializers.CharField(
            allow_null=True, help_text="The uploaded file's name; null unless you may edit the video."
        )
    )
    def get_original_name(self, video) -> str | None:
        return video.original_name if self._may_see_file(video) else None

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="MD5 of the original; null unless you may edit the video.")
    )
    def get_md5(self, video) -> str | None:
        return video.md5 if self._may_see_file(video) else None

    @extend_schema_field(VideoSourceOutput)
    def get_source(self, video) -> dict:
        return {
            "container": video.container,
            "video_codec": video.video_codec,
            "audio_codec": video.audio_codec or None,
            "frame_rate": video.frame_rate,
            "extra_video_streams": video.extra_video_streams,
        }


class MetadataValue(serializers.Field):
    """
    A metadata value passed on as it was sent — text, a list, ids or ``{id, role}`` objects —
    for ``videos.services.metadata.metadata_clean`` to judge, the same for every door. In a
    form body, a field sent more than once (``tags=a&tags=b``) is a list. ``schema`` only
    documents it.
    """

    def __init__(self, *, schema: dict, **kwargs):
        super().__init__(required=False, **kwargs)
        extend_schema_field(schema)(self)  # set again by the copy each serializer makes (same kwargs)

    def get_value(self, dictionary):
        if not html.is_html_input(dictionary):
            return dictionary.get(self.field_name, empty)
        if self.field_name not in dictionary:
            return empty
        values = dictionary.getlist(self.field_name)
        return values[0] if len(values) == 1 else values

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


_SURGEON_REF = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "Surgeon id (role: primary)"},
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "role": {"type": "string", "enum": list(VideoSurgeon.Role.values)},
            },
            "required": ["id"],
        },
    ]
}


_TAG_NAMES = {
    "oneOf": [
        {"type": "array", "items": {"type": "string", "maxLength": TAG_MAX}},
        {"type": "string", "description": "Tag names, comma-separated"},
    ]
}


class VideoMetadataInput(serializers.Serializer):
    """A video's metadata; the rules (``metadata_clean``) are the service's, so every door applies the same."""

    title = MetadataValue(schema={"type": "string", "minLength": 1, "maxLength": TITLE_MAX})
    description = MetadataValue(schema={"type": "string", "maxLength": TEXT_MAX})
    transcript = MetadataValue(schema={"type": "string", "maxLength": TEXT_MAX})
    category = MetadataValue(schema={"type": "string", "maxLength": CATEGORY_MAX}, allow_null=True)
    tags = MetadataValue(schema=_TAG_NAMES)
    surgeons = MetadataValue(schema={"type": "array", "items": _SURGEON_REF})
    date_of_surgery = MetadataValue(schema={"type": "string", "format": "date"}, allow_null=True)


class VideoUploadInput(VideoMetadataInput):
    file = serializers.FileField(help_text="The recording (MP4, MOV, M4V, MKV, WebM or AVI).")


class RejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class VideoReplacementInput(serializers.Serializer):
    file = serializers.FileField(help_text="The new recording (the same formats as an upload).")


class PosterInput(serializers.Serializer):
    at = serializers.FloatField(help_text="Seconds into the recording (a storyboard frame's start, or any time).")


class CategoryOutput(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "description"]


class TagOutput(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "slug"]


class SurgeonOutput(serializers.ModelSerializer):
    class Meta:
        model = Surgeon
        fields = ["id", "name", "specialty"]


# Catalogue additions: a name no longer than the model's column (PostgreSQL refuses longer ones).


class TagInput(serializers.Serializer):
    name = serializers.CharField(max_length=Tag._meta.get_field("name").max_length)


class CategoryInput(serializers.Serializer):
    name = serializers.CharField(max_length=Category._meta.get_field("name").max_length)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class SurgeonInput(serializers.Serializer):
    name = serializers.CharField(max_length=Surgeon._meta.get_field("name").max_length)
    specialty = serializers.CharField(
        max_length=Surgeon._meta.get_field("specialty").max_length, required=False, allow_blank=True
    )


# ------------------------------------------------------------------------------ schema-only shapes
# Bodies that views assemble by hand; these serializers only describe them in the OpenAPI schema.


class VideoUploadOutput(VideoDetailOutput):
    duplicate = serializers.BooleanField(help_text="True: identical content was already in the library.")

    class Meta(VideoDetailOutput.Meta):
        fields = [*VideoDetailOutput.Meta.fields, "duplicate"]


class FacetNameOutput(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    count = serializers.IntegerField()


class FacetSurgeonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class FacetDurationOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    min_seconds = serializers.IntegerField()
    max_seconds = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField()


class FacetsOutput(serializers.Serializer):
    categories = FacetNameOutput(many=True)
    tags = FacetNameOutput(many=True)
    surgeons = FacetSurgeonOutput(many=True)
    duration = FacetDurationOutput(many=True)


@extend_schema_serializer(many=False)
class VideoPageOutput(serializers.Serializer):
    """One page of search results (``PAGE_SIZE`` per page), with facet counts for the whole query."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = VideoOutput(many=True)
    facets = FacetsOutput(required=False, help_text="Left out with facets=0.")
    showing_results_for = serializers.CharField(
        help_text="The query as searched when a word was taken for a catalogue word (SQLite typo tolerance); empty otherwise."
    )


class UploadOutput(serializers.Serializer):
    """A tus upload, as its creator sees it (GET /uploads/<id>/, not part of tus)."""

    id = serializers.UUIDField()
    filename = serializers.CharField()
    offset = serializers.IntegerField()
    length = serializers.IntegerField()
    complete = serializers.BooleanField()
    video = serializers.UUIDField(allow_null=True, help_text="The video the upload became, once complete.")
    duplicate = serializers.BooleanField()
    expires = serializers.DateTimeField()
