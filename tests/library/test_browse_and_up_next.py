"""
Finding cases (issue #15): the header's Browse menu (categories, tags and surgeons, with how
many have published videos; cached, so an ordinary page costs no query for it) and "Up next"
on the watch page outside a playlist (the most related case, then the same category).
"""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from library.catalogue import BROWSE_COUNTS_CACHE_KEY
from tests.factories import (
    CategoryFactory,
    LadderVideoFactory,
    PlaylistFactory,
    PlaylistItemFactory,
    SurgeonFactory,
    TagFactory,
    VideoFactory,
)

pytestmark = pytest.mark.django_db


def menu(html: str) -> dict[str, tuple[str, int]]:
    block = html.split("data-browse-menu>", 1)[1].split("</details>", 1)[0]
    return {
        name: (href, int(count))
        for href, name, count in re.findall(
            r'<a class="nav-link justify-between" href="([^"]+)">(\w+) <span[^>]*>(\d+)</span></a>', block
        )
    }


def test_browse_menu_counts_what_has_published_videos(viewer_client, uploader):
    hepato, colo = CategoryFactory(name="Hepatobiliary"), CategoryFactory(name="Colorectal")
    lap, robot = TagFactory(name="Laparoscopy"), TagFactory(name="Robotic")
    rao, ng = SurgeonFactory(name="Dr Rao"), SurgeonFactory(name="Dr Ng")
    VideoFactory(uploader=uploader, category=hepato, tags=[lap], surgeons=[rao])
    VideoFactory(uploader=uploader, category=hepato, tags=[lap, robot], surgeons=[rao])
    # Not published: counts nothing (its category, tag and surgeon are not counted).
    VideoFactory(uploader=uploader, status="processed", category=colo, tags=[TagFactory(name="Open")], surgeons=[ng])
    html = viewer_client.get(reverse("library:search")).content.decode()
    assert menu(html) == {
        "Categories": (reverse("library:categories"), 1),
        "Tags": (reverse("library:tags"), 2),
        "Surgeons": (reverse("library:surgeons"), 1),
    }


def test_browse_menu_costs_no_query_once_cached(viewer_client):
    VideoFactory(category=CategoryFactory(name="General"))
    url = reverse("library:favorites")
    viewer_client.get(url)
    assert cache.get(BROWSE_COUNTS_CACHE_KEY) == {"categories": 1, "tags": 0, "surgeons": 0}
    with CaptureQueriesContext(connection) as captured:
        viewer_client.get(url)
    assert captured.captured_queries
    assert not any("COUNT(DISTINCT" in query["sql"] for query in captured.captured_queries)


def test_no_browse_menu_signed_out_or_without_the_right_to_watch(client, make_user):
    assert "data-browse-menu" not in client.get(reverse("accounts:login")).content.decode()
    client.force_login(make_user())  # an account with no role
    assert "data-browse-menu" not in client.get(reverse("accounts:profile")).content.decode()


@pytest.fixture
def cases(uploader):
    hepato = CategoryFactory(name="Hepatobiliary")
    lap = TagFactory(name="Laparoscopy")
    rao = SurgeonFactory(name="Dr Rao")
    base = LadderVideoFactory(uploader=uploader, title="Base case", category=hepato, tags=[lap], surgeons=[rao])
    same_category = LadderVideoFactory(uploader=uploader, title="Same category only", category=hepato, views=50)
    closest = LadderVideoFactory(uploader=uploader, title="Shares tag and surgeon", tags=[lap], surgeons=[rao])
    LadderVideoFactory(uploader=uploader, title="Unrelated", category=CategoryFactory(name="Colorectal"), views=99)
    return base, closest, same_category


def up_next(html: str) -> str | None:
    if "data-up-next>" not in html:
        return None
    block = html.split("data-up-next>", 1)[1].split("</section>", 1)[0]
    return re.search(r'<span class="block font-semibold[^>]*>([^<]+)</span>', block).group(1)


def test_up_next_is_the_most_related_then_the_same_category(viewer_client, cases):
    base, closest, same_category = cases
    html = viewer_client.get(reverse("videos:watch", args=[base.uuid])).content.decode()
    assert up_next(html) == "Shares tag and surgeon"
    assert f'href="{reverse("videos:watch", args=[closest.uuid])}"' in html.split("data-up-next>", 1)[1]
    closest.delete()
    html = viewer_client.get(reverse("videos:watch", args=[base.uuid])).content.decode()
    assert up_next(html) == "Same category only"
    assert "Same category · Hepatobiliary" in html.split("data-up-next>", 1)[1].split("</section>", 1)[0]


def test_no_up_next_inside_a_playlist_or_without_anything_related(viewer_client, viewer, cases, uploader):
    base, _, _ = cases
    playlist = PlaylistFactory(owner=viewer)
    item = PlaylistItemFactory(playlist=playlist, video=base, position=0)
    html = viewer_client.get(
        reverse("videos:watch", args=[base.uuid]) + f"?playlist={playlist.pk}&item={item.pk}"
    ).content.decode()
    assert up_next(html) is None
    alone = LadderVideoFactory(uploader=uploader, title="Alone")
    assert up_next(viewer_client.get(reverse("videos:watch", args=[alone.uuid])).content.decode()) is None
