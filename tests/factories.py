"""
factory_boy factories, one per model the tests build. Users get a known strong password and
role groups by name. Videos get unique content (``md5`` and ``size_bytes`` from sequences, so
the content constraint never collides) and are published unless a test says otherwise.

Fields a factory does not declare keep the model's default, so ``SurgeonFactory(name="x")`` is
``Surgeon.objects.create(name="x")``. Tags and categories, whose names are unique, are got or
created by name: two videos can be given ``TagFactory(name="Laparoscopy")``.
"""

import datetime
import hashlib
import os
import uuid

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.models import EmailOTPDevice, SMSOTPDevice
from audit.models import AuditEvent
from library.models import Favorite, Playlist, PlaylistItem, SearchSynonym, ViewEvent, WatchProgress
from videos.models import Category, Rendition, Surgeon, Tag, Upload, Video, VideoSurgeon

from .videos_helpers import write_ladder

PASSWORD = "Correct-Horse-9!"
# Statuses from which an approver publishes: videos made in them can be published (see VideoFactory).
PUBLISHABLE = {Video.Status.PROCESSED, Video.Status.REJECTED, Video.Status.ARCHIVED}


# ------------------------------------------------------------------------------ accounts


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@hospital.example")
    full_name = factory.Faker("name")
    approval_status = "approved"
    is_active = True

    @factory.post_generation
    def password(user, create, extracted, **kwargs):
        user.set_password(extracted or PASSWORD)
        if create:
            user.save(update_fields=["password", "password_changed_at"])

    @factory.post_generation
    def roles(user, create, extracted, **kwargs):
        if create and extracted:
            user.groups.set(Group.objects.filter(name__in=extracted))
            user.__dict__.pop("roles", None)


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    """A confirmed authenticator app (``tests.signin.totp_code`` reads its current code)."""

    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "phone"
    confirmed = True


class EmailOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "E-mail"
    confirmed = True


class SMSOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SMSOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "SMS"
    number = "+919812345678"
    confirmed = True


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    event = AuditEvent.Event.LOGIN_SUCCESS


# ------------------------------------------------------------------------------ catalogue


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Category {n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Tag {n}")


class SurgeonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Surgeon

    name = factory.Sequence(lambda n: f"Dr Surgeon {n}")


# ------------------------------------------------------------------------------ videos


def _add_surgeons(video, create, extracted, publishable: bool) -> None:
    """``surgeons=[...]`` as primary surgeons; none given to a publishable video: "Dr Ready"."""
    if create and extracted is None and publishable:
        extracted = [Surgeon.objects.get_or_create(name="Dr Ready")[0]]
    for surgeon in (extracted or []) if create else []:
        VideoSurgeon.objects.create(video=video, surgeon=surgeon)


class VideoFactory(factory.django.DjangoModelFactory):
    """
    A published video (no files on disk; ``LadderVideoFactory`` writes some). ``tags=[...]``
    sets its tags, ``surgeons=[...]`` adds primary surgeons (``VideoSurgeonFactory`` for
    another role).

    A video that waits for a decision (processed, rejected, archived) is ``publishable``: it
    has what ``PUBLISH_REQUIRED_FIELDS`` asks by default — a category ("General surgery"), a
    surgeon ("Dr Ready") and a date of surgery — so an approver may publish it; give
    ``publishable=False`` (or ``category=None`` …) for one that misses them. Published ones are
    left as they were: nothing publishes them again, and lists count their categories.
    """

    class Meta:
        model = Video
        skip_postgeneration_save = True

    class Params:
        publishable = factory.LazyAttribute(lambda video: video.status in PUBLISHABLE)

    uploader = factory.SubFactory(UserFactory, roles=[roles.VIEWER, roles.UPLOADER])
    category = factory.Maybe("publishable", factory.SubFactory(CategoryFactory, name="General surgery"), None)
    date_of_surgery = factory.Maybe("publishable", datetime.date(2026, 11, 2), None)
    title = factory.Sequence(lambda n: f"Procedure {n}")
    status = Video.Status.PUBLISHED
    duration = 60
    md5 = factory.Sequence(lambda n: hashlib.md5(f"video {n}".encode()).hexdigest())
    size_bytes = factory.Sequence(lambda n: n + 1)

    @factory.post_generation
    def tags(video, create, extracted, **kwargs):
        if create and extracted:
            video.tags.set(extracted)

    surgeons = factory.Maybe(
        "publishable",
        factory.PostGeneration(lambda video, create, extracted, **kw: _add_surgeons(video, create, extracted, True)),
        factory.PostGeneration(lambda video, create, extracted, **kw: _add_surgeons(video, create, extracted, False)),
    )


class LadderVideoFactory(VideoFactory):
    """
    A video as the transcoder leaves it: key, IV, poster and storyboard, and a small fake
    ladder and original on disk (``tests.videos_helpers.write_ladder``). ``ladder=False``:
    the key and IV only, no poster, storyboard or files.
    """

    class Params:
        ladder = True

    uuid = factory.LazyFunction(uuid.uuid4)
    duration = 12
    width = 320
    height = 180
    size_bytes = 1000
    hls_key = factory.LazyFunction(lambda: os.urandom(16))
    hls_iv = factory.LazyFunction(lambda: os.urandom(16).hex())
    has_poster = factory.SelfAttribute("ladder")
    has_storyboard = factory.SelfAttribute("ladder")
    original_path = factory.LazyAttribute(lambda video: f"originals/{video.uuid}.mp4")

    @factory.post_generation
    def files(video, create, extracted, **kwargs):
        if create and video.has_poster:
            write_ladder(video)


class VideoSurgeonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VideoSurgeon

    video = factory.SubFactory(VideoFactory)
    surgeon = factory.SubFactory(SurgeonFactory)


class RenditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rendition

    video = factory.SubFactory(VideoFactory)
    name = "360p"
    width = 640
    height = 360
    bandwidth = 800_000


class UploadFactory(factory.django.DjangoModelFactory):
    """A tus upload row (no bytes on disk: ``videos.services.upload_start`` makes the file)."""

    class Meta:
        model = Upload

    user = factory.SubFactory(UserFactory, roles=[roles.VIEWER, roles.UPLOADER])
    filename = "case.mp4"
    length = 1


# ------------------------------------------------------------------------------ library


class WatchProgressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WatchProgress

    user = factory.SubFactory(UserFactory)
    video = factory.SubFactory(VideoFactory)


class FavoriteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Favorite

    user = factory.SubFactory(UserFactory)
    video = factory.SubFactory(VideoFactory)


class ViewEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ViewEvent

    user = factory.SubFactory(UserFactory)
    video = factory.SubFactory(VideoFactory)


class PlaylistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Playlist

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Playlist {n}")


class PlaylistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaylistItem

    playlist = factory.SubFactory(PlaylistFactory)
    video = factory.SubFactory(VideoFactory)


class SearchSynonymFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SearchSynonym

    term = factory.Sequence(lambda n: f"term{n}")
    synonyms = "synonym"
