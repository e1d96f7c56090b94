"""Search, category, tag and surgeon pages: results, facets, chips, escaping, visibility, query counts."""

import re
from contextlib import nullcontext
from datetime import date, timedelta
from html import unescape

import pytest
from django.db import connection
from django.utils import timezone

from accounts import roles
from library.templatetags.library_tags import excerpt, highlight
from tests.factories import CategoryFactory, SurgeonFactory, TagFactory, VideoFactory, VideoSurgeonFactory
from videos.models import Surgeon, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(uploader):
    """Three published videos (two laparoscopic, one eye case) and the catalogue around them."""
    lap = TagFactory(name="Laparoscopy")
    chole = TagFactory(name="Cholecystectomy")
    phaco = TagFactory(name="Phaco")
    general = CategoryFactory(name="General surgery")
    ophtho = CategoryFactory(name="Ophthalmology")
    rao = SurgeonFactory(name="Dr Rao", specialty="Hepatobiliary", bio="Teaches the safe view.")
    iyer = SurgeonFactory(name="Dr Iyer")

    def make(n, title, *, tags, category, surgeons, minutes, description=""):
        video = VideoFactory(
            uploader=uploader,
            title=title,
            description=description,
            status="published",
            duration=minutes * 60,
            category=category,
            date_of_surgery=date(2025, 1, n),
            created_at=timezone.now() - timedelta(days=n),
            tags=tags,
        )
        for surgeon, role in surgeons:
            VideoSurgeonFactory(video=video, surgeon=surgeon, role=role)
        return video

    return {
        "rao": rao,
        "iyer": iyer,
        "general": general,
        "lap": lap,
        "lap1": make(
            1,
            "Laparoscopic cholecystectomy, difficult Calot",
            tags=[lap, chole],
            category=general,
            surgeons=[(rao, "primary")],
            minutes=40,
        ),
        "lap2": make(
            2,
            "Gallbladder removal teaching",
            tags=[lap, chole],
            category=general,
            surgeons=[(iyer, "primary"), (rao, "assistant")],
            minutes=95,
            description="A laparoscopic approach to the gallbladder.",
        ),
        "eye": make(
            3, "Phacoemulsification basics", tags=[phaco], category=ophtho, surgeons=[(iyer, "primary")], minutes=12
        ),
    }


def titles(html: str) -> list[str]:
    """The titles of the result rows or cards, in page order, without highlight markup."""
    found = re.findall(
        r'<a class="hover:underline focus-visible:underline" href="/videos/[^"]+/">(.*?)</a>', html, re.S
    )
    return [unescape(re.sub(r"<[^>]+>", "", title)).strip() for title in found]


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


# ------------------------------------------------------------------------------ search page


def test_search_finds_by_title_tag_and_surgeon(client, viewer, catalogue):
    client.force_login(viewer)
    assert titles(get(client, "/library/search/?q=phacoemulsification")) == ["Phacoemulsification basics"]
    assert sorted(titles(get(client, "/library/search/?q=cholecystectomy"))) == [
        "Gallbladder removal teaching",
        "Laparoscopic cholecystectomy, difficult Calot",
    ]
    assert titles(get(client, "/library/search/?q=iyer&ordering=title")) == [
        "Gallbladder removal teaching",
        "Phacoemulsification basics",
    ]
    html = get(client, "/library/search/?q=iyer")
    assert "2 results for “iyer”" in html


def test_empty_query_lists_everything_newest_first(client, viewer, catalogue):
    client.force_login(viewer)
    html = get(client, "/library/search/")
    assert titles(html) == [
        "Laparoscopic cholecystectomy, difficult Calot",
        "Gallbladder removal teaching",
        "Phacoemulsification basics",
    ]
    assert "3 results" in html


def test_facet_link_narrows_and_chip_removes_the_filter(client, viewer, catalogue):
    client.force_login(viewer)
    html = get(client, "/library/search/?q=lap")
    # The tag facet over the whole result set, as a link that adds the filter.
    link = re.search(r'<a href="([^"]+)"[^>]*>\s*<span class="size-4[^>]*></span>\s*<span[^>]*>Phaco</span>', html)
    assert link is None  # no "lap" match has the Phaco tag, so it is not offered
    surgeon_link = re.search(
        r'<a href="([^"]+surgeons=\d+[^"]*)"[^>]*>\s*<span class="size-4[^>]*></span>\s*<span[^>]*>Dr Iyer</span>', html
    )
    assert surgeon_link, "the Dr Iyer facet should be a link"
    narrowed = get(client, unescape(surgeon_link.group(1)))
    assert titles(narrowed) == ["Gallbladder removal teaching"]
    assert "1 result for “lap”" in narrowed

    chip = re.search(
        r'<a href="([^"]+)"[^>]*>\s*<span aria-hidden="true">×</span><span class="sr-only">Remove filter</span> surgeon: Dr Iyer',
        narrowed,
    )
    assert chip, "an active filter shows as a removable chip"
    url = unescape(chip.group(1))
    assert "surgeons" not in url and "q=lap" in url
    assert len(titles(get(client, url))) == 2


def test_facet_counts_cover_the_whole_result_set(client, viewer, catalogue):
    client.force_login(viewer)
    html = get(client, "/library/search/")
    laparoscopy = re.search(r">Laparoscopy</span>\s*<span[^>]*><span class=\"sr-only\">\(</span>(\d+)<", html)
    assert laparoscopy and laparoscopy.group(1) == "2"


def test_duration_bucket_and_minutes_filter(client, viewer, catalogue):
    client.force_login(viewer)
    html = get(client, "/library/search/?duration_min=900&duration_max=2700")
    assert titles(html) == ["Laparoscopic cholecystectomy, difficult Calot"]
    assert 'name="minutes_min" min="0" step="any" inputmode="decimal" value="15"' in html
    # The filter form speaks minutes; the page turns them into the seconds the search takes.
    assert titles(get(client, "/library/search/?minutes_min=60&minutes_max=")) == ["Gallbladder removal teaching"]


def test_highlight_in_results_and_html_in_titles_is_escaped(client, viewer, uploader):
    VideoFactory(
        uploader=uploader,
        title="<script>alert(1)</script> lap chole",
        description="x " * 300 + "The chole step <b>here</b>. " + "y " * 300,
        status="published",
    )
    client.force_login(viewer)
    html = get(client, "/library/search/?q=chole")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; lap <mark" in html
    assert re.search(r"<mark class=\"[^\"]+\">chole</mark>", html)
    assert "<b>here</b>" not in html and "&lt;b&gt;here&lt;/b&gt;" in html
    assert "… x x" in html  # the description is cut to the window around the match


def test_malformed_parameter_is_a_400_naming_it(client, viewer, catalogue):
    client.force_login(viewer)
    html = get(client, "/library/search/?q=lap&duration_min=abc", status=400)
    assert 'role="alert"' in html
    assert "Shortest duration:</span> Give a number of seconds (0 or more)." in html
    html = get(client, "/library/search/?minutes_max=-3&ordering=sideways", status=400)
    assert "Longest duration:</span> Give a number of minutes (0 or more)." in html
    assert "Sort order:</span>" in html


def test_no_results_suggests_removing_filters(client, viewer, catalogue):
    client.force_login(viewer)
    html = get(client, "/library/search/?q=lap&tags=Phaco")
    assert "No videos match “lap”" in html
    assert "Try removing a filter" in html


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999", "1.5"])
def test_bad_page_number_never_500(client, viewer, catalogue, page):
    client.force_login(viewer)
    assert len(titles(get(client, f"/library/search/?page={page}"))) == 3


def test_pagination_keeps_the_other_parameters(client, viewer, uploader):
    general = CategoryFactory(name="General")
    for n in range(30):
        VideoFactory(
            uploader=uploader,
            title=f"Hernia {n}",
            status="published",
            category=general,
        )
    client.force_login(viewer)
    html = get(client, "/library/search/?q=hernia&category=General&ordering=title")
    assert len(titles(html)) == 24
    assert 'href="/library/search/?q=hernia&amp;category=General&amp;ordering=title&amp;page=2"' in html
    assert 'aria-current="page"><span class="sr-only">Page </span>1<' in html
    assert len(titles(get(client, "/library/search/?q=hernia&category=General&ordering=title&page=2"))) == 6


def test_status_filter_only_for_those_who_see_unpublished(client, viewer, uploader, staff_client, catalogue):
    assert 'name="status"' in get(staff_client, "/library/search/")  # staff_client is `client`, signed in
    client.force_login(viewer)
    assert 'name="status"' not in get(client, "/library/search/")
    # Uploaders see their own videos in every state, so they may filter by it too.
    client.force_login(uploader)
    assert 'name="status"' in get(client, "/library/search/")


# ------------------------------------------------------------------------ category, tag, surgeon


def test_category_tag_and_surgeon_pages_list_their_videos(client, viewer, catalogue):
    client.force_login(viewer)
    assert sorted(titles(get(client, "/library/categories/general-surgery/"))) == [
        "Gallbladder removal teaching",
        "Laparoscopic cholecystectomy, difficult Calot",
    ]
    assert titles(get(client, "/library/tags/phaco/")) == ["Phacoemulsification basics"]
    html = get(client, f"/library/surgeons/{catalogue['rao'].pk}/?ordering=title")
    assert titles(html) == ["Gallbladder removal teaching", "Laparoscopic cholecystectomy, difficult Calot"]
    assert "Hepatobiliary" in html and "Teaches the safe view." in html
    assert titles(get(client, f"/library/surgeons/{catalogue['rao'].pk}/?role=assistant")) == [
        "Gallbladder removal teaching"
    ]
    # Dr Iyer is primary on lap2 and Dr Rao assistant there: the role filter is per surgeon.
    assert titles(get(client, f"/library/surgeons/{catalogue['iyer'].pk}/?role=assistant")) == []


def test_surgeon_page_does_not_expose_the_linked_account(client, viewer, make_user, catalogue):
    account = make_user(roles.VIEWER, username="rao_private_login", email="rao.private@hospital.example")
    Surgeon.objects.filter(pk=catalogue["rao"].pk).update(user=account)
    client.force_login(viewer)
    html = get(client, f"/library/surgeons/{catalogue['rao'].pk}/")
    assert "rao_private_login" not in html and "rao.private@" not in html


def test_indexes_count_visible_videos(client, viewer, uploader, catalogue):
    VideoFactory(
        uploader=uploader,
        title="Hidden",
        status="processed",
        category=catalogue["general"],
    )
    client.force_login(viewer)
    html = get(client, "/library/categories/")
    assert re.search(r"General surgery</span>\s*<span[^>]*>2<", html)
    html = get(client, "/library/tags/")
    assert re.search(r"Laparoscopy<span[^>]*><span class=\"sr-only\">\(</span>2<", html)
    html = get(client, "/library/surgeons/")
    assert re.search(r"Dr Rao</span>.*?<span class=\"badge[^\"]*\">2<", html, re.S)


def test_unpublished_video_of_another_uploader_never_appears(client, viewer, uploader, catalogue):
    VideoFactory(
        uploader=uploader,
        title="Secret laparoscopy draft",
        status="processed",
        category=catalogue["general"],
        tags=[catalogue["lap"]],
        surgeons=[catalogue["rao"]],
    )
    client.force_login(viewer)
    for url in [
        "/library/search/?q=secret",
        "/library/search/?q=laparoscopy",
        "/library/search/?status=processed",
        "/library/categories/general-surgery/",
        "/library/tags/laparoscopy/",
        f"/library/surgeons/{catalogue['rao'].pk}/",
    ]:
        assert "Secret" not in get(client, url), url
    # Its uploader sees it.
    client.force_login(uploader)
    assert titles(get(client, "/library/search/?q=secret")) == ["Secret laparoscopy draft"]
    assert "Secret laparoscopy draft" in titles(get(client, "/library/tags/laparoscopy/"))


@pytest.mark.parametrize("url", ["/library/categories/nope/", "/library/tags/nope/", "/library/surgeons/99999/"])
def test_unknown_slug_or_id_is_404(client, viewer, url):
    client.force_login(viewer)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/library/search/?q=x",
        "/library/categories/",
        "/library/categories/x/",
        "/library/tags/",
        "/library/tags/x/",
        "/library/surgeons/",
        "/library/surgeons/1/",
    ],
)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_nav_has_a_search_box_for_signed_in_users(client, viewer):
    assert 'id="nav-search"' not in client.get("/accounts/login/").content.decode()
    client.force_login(viewer)
    html = get(client, "/")
    assert re.search(r'<form role="search" method="get" action="/library/search/"', html)
    assert '<label for="nav-search" class="sr-only">Search videos</label>' in html


# ------------------------------------------------------------------------------ query counts


# On PostgreSQL a text search first asks whether it needs the typo-tolerant path (library/search.py).
TYPO_PROBE = 1 if connection.vendor == "postgresql" else 0


def _fill(uploader, n):
    Video.objects.all().delete()
    general = CategoryFactory(name="General")
    hernia = TagFactory(name="Hernia")
    rao = Surgeon.objects.get_or_create(name="Dr Rao")[0]
    for i in range(n):
        video = VideoFactory(
            uploader=uploader,
            title=f"Hernia repair {i}",
            category=general,
            has_poster=True,
            duration=600 + i,
            tags=[hernia, TagFactory(name=f"Extra {i}")],
            surgeons=[rao],
        )
        VideoSurgeonFactory(video=video, surgeon=Surgeon.objects.get_or_create(name=f"Dr {i}")[0], role="assistant")
    return rao


@pytest.mark.parametrize(
    "url,queries",
    [
        # + the step facet and the page's caption matches (teaching)
        ("/library/search/?q=hernia", 19 + TYPO_PROBE),
        ("/library/search/?q=hernia&tags=Hernia&surgeons={rao}&ordering=title", 19 + TYPO_PROBE),
        ("/library/categories/general/", 14),
        ("/library/tags/hernia/", 14),
        ("/library/surgeons/{rao}/", 15),
        ("/library/surgeons/{rao}/?role=primary", 15),
        ("/library/categories/", 10),
        ("/library/tags/", 10),
        ("/library/surgeons/", 10),
    ],
)
def test_pages_cost_a_constant_number_of_queries(client, viewer, uploader, url, queries, django_assert_num_queries):
    client.force_login(viewer)
    lists_videos = "/search/" in url or url.count("/") > 4
    for n in (1, 3, 30):  # the session's first request does one-off work: counted from the second
        url_n = url.format(rao=_fill(uploader, n).pk)
        with django_assert_num_queries(queries) if n > 1 else nullcontext():
            html = get(client, url_n)
        if lists_videos:
            assert len(titles(html)) == min(n, 24)


# ------------------------------------------------------------------------------ template filters


def test_highlight_escapes_first_and_marks_every_term():
    html = str(highlight("<script>alert(1)</script> Lap CHOLE & lap", ["chole", "lap"]))
    assert html.startswith("&lt;script&gt;alert(1)&lt;/script&gt; ")
    assert ">Lap</mark>" in html and ">CHOLE</mark>" in html and html.endswith(">lap</mark>")
    assert "&amp;" in html
    # A term that is part of an entity must not break it.
    assert str(highlight("A & B", ["amp"])) == "A &amp; B"


def test_highlight_terms_with_regex_characters_are_literal():
    assert str(highlight("C++ (open) a.b", ["c++", "(open)", "."])).count("<mark") == 3
    assert "<mark" not in str(highlight("abc", [".*"]))
    assert str(highlight("nothing", [])) == "nothing"
    assert "<mark" in str(highlight("<mark>", ["mark"])) and "&lt;" in str(highlight("<mark>", ["mark"]))


def test_excerpt_shows_a_window_around_the_first_match():
    text = "alpha " * 100 + "needle here " + "omega " * 100
    cut = excerpt(text, ["needle"])
    assert "needle" in cut and cut.startswith("… ") and cut.endswith(" …")
    assert len(cut) <= 210
    assert excerpt("short text", ["x"]) == "short text"
    assert excerpt(text, ["absent"]).startswith("alpha")
