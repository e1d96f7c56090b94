"""
Cards and durations (issue #15): a h:mm:ss badge over every thumbnail, precise lengths in the
details, cards that show views, age and the watched bar the same way everywhere, and tags,
surgeons and categories as links wherever they appear.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from core.templatetags.timecode import clock
from tests.factories import (
    CategoryFactory,
    LadderVideoFactory,
    PlaylistFactory,
    PlaylistItemFactory,
    SurgeonFactory,
    TagFactory,
    WatchProgressFactory,
)
from tests.signin import otp_client
from videos.models import Video

pytestmark = pytest.mark.django_db

BADGE = '<span class="duration-badge" data-duration-badge><span class="sr-only">Duration </span>{}</span>'


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0:00"),
        (40.0, "0:40"),
        (59.9, "0:59"),
        (60, "1:00"),
        (451, "7:31"),
        (3723.4, "1:02:03"),
        (None, ""),
        ("x", ""),
    ],
)
def test_clock(seconds, text):
    assert clock(seconds) == text


@pytest.fixture
def case(uploader):
    category = CategoryFactory(name="Hepatobiliary")
    video = LadderVideoFactory(
        uploader=uploader,
        title="Long cholecystectomy",
        duration=3723.4,
        views=7,
        category=category,
        tags=[TagFactory(name="Laparoscopy")],
        surgeons=[SurgeonFactory(name="Dr Ada Lovelace")],
    )
    return video


def test_home_cards_show_badge_views_age_and_links(viewer_client, case):
    html = viewer_client.get("/").content.decode()
    card = html.split('aria-labelledby="recent-heading"', 1)[1].split("</section>", 1)[0]
    assert BADGE.format("1:02:03") in card
    assert "7 views" in card and "ago</time>" in card
    assert f'href="{reverse("library:tag", args=[case.tags.get().slug])}">Laparoscopy</a>' in card
    surgeon = case.video_surgeons.get().surgeon
    assert f'href="{reverse("library:surgeon", args=[surgeon.pk])}">Dr Ada Lovelace</a>' in card
    assert f'href="{reverse("library:category", args=[case.category.slug])}">Hepatobiliary</a>' in card
    # The home page's category chips are links too.
    chips = html.split('aria-labelledby="categories-heading"', 1)[1]
    assert f'href="{reverse("library:category", args=[case.category.slug])}">Hepatobiliary · 1</a>' in chips
    # No card says the length in words any more.
    assert "about 1 hour" not in html


def test_every_card_has_the_same_bar_row_and_shows_progress_from_any_list(viewer_client, viewer, case):
    other = LadderVideoFactory(title="Unwatched", duration=30)
    WatchProgressFactory(user=viewer, video=case, position=1861.7, duration=3723.4)
    html = viewer_client.get("/").content.decode()
    recent = html.split('aria-labelledby="recent-heading"', 1)[1].split("</section>", 1)[0]
    cards = re.findall(r"<article .*?</article>", recent, re.S)
    assert len(cards) == 2
    watched = next(card for card in cards if case.title in card)
    unwatched = next(card for card in cards if other.title in card)
    assert re.search(r'<progress [^>]*value="50" aria-label="50 % watched" data-card-progress>', watched)
    assert "data-card-progress" not in unwatched and '<span class="block h-1.5" aria-hidden="true"></span>' in unwatched


def test_portrait_posters_are_letterboxed_not_cropped(viewer_client, case):
    html = viewer_client.get("/").content.decode()
    poster = re.search(r'<img src="[^"]+" alt="" class="([^"]+)" width="320"', html).group(1)
    assert "object-contain" in poster.split() and "object-cover" not in poster.split()


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_search_results_mine_review_and_playlists_have_badges(viewer, uploader, approver, case):
    search = _as(viewer).get(reverse("library:search") + "?q=cholecystectomy").content.decode()
    assert BADGE.format("1:02:03") in search
    assert BADGE.format("1:02:03") in _as(uploader).get(reverse("videos:mine")).content.decode()
    LadderVideoFactory(title="Waiting", status=Video.Status.PROCESSED, duration=95)
    assert BADGE.format("1:35") in otp_client(approver).get(reverse("videos:review")).content.decode()
    playlist = PlaylistFactory(owner=viewer)
    PlaylistItemFactory(playlist=playlist, video=case, position=0, start_time=60, end_time=190)
    page = _as(viewer).get(reverse("library:playlist", args=[playlist.pk])).content.decode()
    assert BADGE.format("2:10") in page  # the clip's length


def test_details_give_the_precise_length(viewer_client, case):
    html = viewer_client.get(reverse("videos:watch", args=[case.uuid])).content.decode()
    assert '<time datetime="PT3723.400S" data-details-duration>1:02:03</time>' in html
