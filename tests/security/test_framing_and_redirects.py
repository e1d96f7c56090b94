"""
Hostile input, part 2 — framing and redirects. Every kind of page (site, admin, errors,
API documents) refuses to be framed (``X-Frame-Options: DENY`` and CSP ``frame-ancestors
'none'``), and every ``next`` parameter (sign-in, sign-out, favourite toggle, add to
playlist, edit) keeps the browser on this site whatever its spelling.
"""

import re
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from library.models import Favorite, PlaylistItem
from tests.factories import LadderVideoFactory
from tests.media import TINY_PDF
from tests.signin import otp_client
from videos.models import Video

pytestmark = pytest.mark.django_db

EVIL = [
    "//evil.example/",
    "https://evil.example/",
    "http://evil.example",
    "/\\evil.example/",
    "\\\\evil.example/",
    "\\/evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    " //evil.example",
    "\x00//evil.example",
    "https:evil.example",
    "https:/evil.example",
    "http:\\\\evil.example",
    "http://testserver@evil.example/",
    "http://evil.example\\@testserver/",
    "//evil.example%2F@testserver/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "https://testserver.evil.example/",
    "https://evil.example/?testserver",
    "///evil.example",
    "////evil.example",
]


SPECIAL_SCHEMES = {"http", "https", "ws", "wss", "ftp", "file"}
_C0_AND_SPACE = "".join(chr(n) for n in range(0x21))


def browser_resolves(location: str, base: str = "http://testserver/here/") -> tuple[str, str]:
    """
    (scheme, host) a browser goes to for ``location`` on ``base`` (the WHATWG URL parser:
    leading/trailing C0 and spaces stripped, tab/CR/LF removed, \\ read as /, and a special
    scheme other than the base's taking the next word as the host even without //).
    """
    cleaned = re.sub(r"[\t\n\r]", "", location.strip(_C0_AND_SPACE)).replace("\\", "/")
    base_scheme = urlsplit(base).scheme
    scheme_match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$", cleaned, re.DOTALL)
    if scheme_match:
        scheme, rest = scheme_match.group(1).lower(), scheme_match.group(2)
        if scheme in SPECIAL_SCHEMES and scheme != base_scheme:
            cleaned = f"{scheme}://{rest.lstrip('/')}"
        elif scheme == base_scheme and not rest.startswith("//"):
            cleaned = rest  # same special scheme without //: relative to the base
    target = urlsplit(urljoin(base, cleaned))
    return target.scheme.lower(), (target.hostname or "").lower()


def assert_stays_on_site(location: str, context=""):
    scheme, host = browser_resolves(location)
    assert scheme in ("http", "https") and host == "testserver", (context, location, scheme, host)


# ------------------------------------------------------------------------------ framing


def framing_ok(response) -> bool:
    csp = response.get("Content-Security-Policy", "")
    return response.get("X-Frame-Options") == "DENY" and re.search(r"(^|;)\s*frame-ancestors 'none'\s*(;|$)", csp)


@pytest.fixture
def staff(admin_user):
    """An Admin in a browser of their own (these tests use ``client`` too)."""
    return otp_client(admin_user)


@pytest.fixture
def video(uploader):
    return LadderVideoFactory(uploader=uploader, title="Framed case", status=Video.Status.PROCESSED)


def test_the_checker_spots_a_missing_header(client):
    """Control: framing_ok really looks at both headers."""
    response = client.get("/accounts/login/")
    assert framing_ok(response)
    del response["X-Frame-Options"]
    assert not framing_ok(response)


def test_every_site_page_kind_refuses_framing(client, uploader, video, staff):
    anonymous = Client()
    pages = {
        "login": anonymous.get("/accounts/login/"),
        "register": anonymous.get("/accounts/register/"),
        "reset": anonymous.get("/accounts/password/reset/"),
        "reset link": anonymous.get("/accounts/password/reset/MQ/bad-token/"),
        "terms": anonymous.get("/terms/"),
        "privacy": anonymous.get("/privacy/"),
        "anonymous redirect": anonymous.get("/"),
        "anonymous 404": anonymous.get("/no-such-page/"),
    }
    client.force_login(uploader)
    playlist = client.post("/library/playlists/new/", {"title": "Mine"})
    for name, url in {
        "home": "/",
        "watch": f"/videos/{video.uuid}/",
        "edit": f"/videos/{video.uuid}/edit/",
        "upload": "/videos/upload/",
        "mine": "/videos/mine/",
        "search": "/library/search/?q=case",
        "search error": "/library/search/?duration_min=x",
        "history": "/library/history/",
        "favorites": "/library/favorites/",
        "playlists": "/library/playlists/",
        "playlist": playlist["Location"],
        "categories": "/library/categories/",
        "tags": "/library/tags/",
        "surgeons": "/library/surgeons/",
        "profile": "/accounts/profile/",
        "settings": "/accounts/settings/",
        "security": "/accounts/security/",
        "404": f"/videos/{'0' * 8}-0000-0000-0000-{'0' * 12}/",
        "403": "/videos/review/",
        "admin as non-staff": "/admin/",
        "405": "/accounts/logout/",
    }.items():
        pages[name] = client.get(url)
    pages["csrf failure"] = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x"})
    for name, url in {
        "review queue": "/videos/review/",
        "review page": f"/videos/review/{video.uuid}/",
        "admin index": "/admin/",
        "admin changelist": "/admin/videos/video/",
        "admin change": f"/admin/videos/video/{video.pk}/change/",
        "admin user change": f"/admin/accounts/user/{uploader.pk}/change/",
        "admin add": "/admin/videos/tag/add/",
        "admin delete": f"/admin/videos/video/{video.pk}/delete/",
        "admin 404": "/admin/videos/video/999999/change/",
        "dashboard": "/admin/dashboard/",
        "user activity": f"/admin/audit/users/{uploader.pk}/",
        "video viewers": f"/admin/audit/videos/{video.uuid}/viewers/",
        "api docs": "/api/v1/docs/",
        "api schema": "/api/v1/schema/",
    }.items():
        pages[name] = staff.get(url)
    failures = [f"{name} ({r.status_code})" for name, r in pages.items() if not framing_ok(r)]
    assert failures == []
    assert pages["404"].status_code == 404 and pages["403"].status_code == 403
    assert pages["csrf failure"].status_code == 403 and pages["405"].status_code == 405


def test_api_and_json_answers_refuse_framing(client, viewer, video):
    client.force_login(viewer)
    answers = {
        "me": client.get("/api/v1/auth/me/"),
        "videos": client.get("/api/v1/videos/"),
        "api 404": client.get(f"/api/v1/videos/{video.uuid}/"),
        "api 401": Client().get("/api/v1/videos/"),
        "healthz": Client().get("/healthz"),
    }
    failures = [f"{name} ({r.status_code})" for name, r in answers.items() if not framing_ok(r)]
    assert failures == []


def test_the_500_page_refuses_framing(monkeypatch, viewer):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("config.views._legal_context", broken)
    browser = Client(raise_request_exception=False)
    response = browser.get("/terms/")
    assert response.status_code == 500
    assert framing_ok(response)


def test_the_429_page_refuses_framing(client, settings):
    settings.RATELIMITS = {**settings.RATELIMITS, "login": "1/m"}
    client.post("/accounts/login/", {"username": "x", "password": "y"})
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 429
    assert framing_ok(response)


def test_the_id_document_refuses_framing(make_user, staff):
    pending = make_user(username="pendy", is_active=False, approval_status="pending")
    pending.id_document.save("id.pdf", SimpleUploadedFile("id.pdf", TINY_PDF))
    response = staff.get(f"/admin/accounts/user/{pending.pk}/id-document/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "sandbox" in response["Content-Security-Policy"]


def test_media_answers_are_never_sniffed_as_html(client, viewer, uploader):
    from videos import delivery

    video = LadderVideoFactory(uploader=uploader, title="Media", status=Video.Status.PUBLISHED)
    for name in ("poster.jpg", "storyboard.jpg", "storyboard.vtt"):
        response = Client().get(delivery.image_url(video.uuid, viewer.pk, name))
        assert response.status_code == 200
        assert "html" not in response["Content-Type"]
        assert response["X-Content-Type-Options"] == "nosniff"


# ------------------------------------------------------------------------------ open redirects


def test_the_resolver_helper_catches_what_browsers_do():
    """Control: the browser emulation would have flagged each of these."""
    for location in [
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "https:evil.example",
        "\\\\evil.example",
    ]:
        assert browser_resolves(location)[1] == "evil.example", location
    assert browser_resolves("javascript:alert(1)")[0] == "javascript"
    assert browser_resolves("/library/")[1] == "testserver"


def test_sign_in_next_stays_on_site(client, viewer, password):
    for evil in EVIL:
        cache.clear()
        browser = Client()
        response = browser.post("/accounts/login/", {"username": "vera", "password": password, "next": evil})
        assert response.status_code == 302, evil
        assert_stays_on_site(response["Location"], evil)
        # Already signed in: the login page bounces, by GET.
        again = browser.get("/accounts/login/", {"next": evil})
        assert again.status_code == 302, evil
        assert_stays_on_site(again["Location"], evil)


def test_admin_login_next_survives_only_as_a_local_path(client, viewer, password):
    for evil in EVIL:
        cache.clear()  # many sign-ins from one address: this is not about the rate limit
        response = Client().get("/admin/login/", {"next": evil})
        assert response.status_code == 302
        assert_stays_on_site(response["Location"], evil)
        landed = Client().post(response["Location"], {"username": "vera", "password": password, "next": evil})
        assert landed.status_code == 302
        assert_stays_on_site(landed["Location"], evil)


def test_sign_out_ignores_next(client, viewer):
    for evil in EVIL:
        client.force_login(viewer)
        response = client.post("/accounts/logout/?" + urlencode({"next": evil}), {"next": evil})
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/"


def _redirect_failures(post, values=None) -> list[str]:
    """Post every hostile ``next``; list those answered with an error or a redirect off the site."""
    failures = []
    for evil in values if values is not None else [*EVIL, *ODD_BUT_LOCAL]:
        try:
            response = post(evil)
        except Exception as error:  # the test client re-raises a view's exception (a 500 in production)
            failures.append(f"{evil!r}: 500 {type(error).__name__}")
            continue
        if response.status_code != 302:
            failures.append(f"{evil!r}: {response.status_code}")
            continue
        scheme, host = browser_resolves(response["Location"])
        if scheme not in ("http", "https") or host != "testserver":
            failures.append(f"{evil!r}: to {response['Location']!r}")
    return failures


# Not hostile, but a ``next`` can be any string: none may crash the view.
ODD_BUT_LOCAL = ["home", "admin:index", "", "   ", "/library/?page=2#top"]
# Strings without "/" or "." that Django's redirect() shortcut tries as URL names first
# (resolve_url): an unknown one raises NoReverseMatch, a 500.
BARE_WORDS = ["nowhere", "?page=2", "#top", "%6A%61%76%61%73%63%72%69%70%74:alert(1)", "evil:example"]


def test_favourite_toggle_next_stays_on_site(client, viewer, uploader):
    video = LadderVideoFactory(uploader=uploader, title="Fav", ladder=False)
    client.force_login(viewer)
    url = f"/library/favorites/{video.uuid}/"
    assert _redirect_failures(lambda evil: client.post(url, {"on": "1", "next": evil})) == []
    assert Favorite.objects.filter(user=viewer, video=video).exists()


def test_add_to_playlist_next_stays_on_site(client, viewer, uploader):
    video = LadderVideoFactory(uploader=uploader, title="Add", ladder=False)
    client.force_login(viewer)
    body = {"playlist": "new", "new_title": "Reel", "video": str(video.uuid)}
    assert _redirect_failures(lambda evil: client.post("/library/playlists/add/", {**body, "next": evil})) == []
    assert PlaylistItem.objects.filter(video=video, playlist__owner=viewer).exists()


EDIT_FORM = {
    "title": "Edited",
    "surgeons-TOTAL_FORMS": "0",
    "surgeons-INITIAL_FORMS": "0",
    "surgeons-MIN_NUM_FORMS": "0",
    "surgeons-MAX_NUM_FORMS": "50",
}


def test_edit_next_stays_on_site(client, uploader):
    video = LadderVideoFactory(uploader=uploader, title="Edit me", ladder=False)
    client.force_login(uploader)
    url = f"/videos/{video.uuid}/edit/"
    assert _redirect_failures(lambda evil: client.post(url, {**EDIT_FORM, "next": evil})) == []
    video.refresh_from_db()
    assert video.title == "Edited"


def test_bare_word_next_does_not_crash_any_redirecting_view(client, uploader, viewer):
    video = LadderVideoFactory(uploader=uploader, title="Bare", ladder=False)
    client.force_login(uploader)
    failures = _redirect_failures(
        lambda evil: client.post(f"/library/favorites/{video.uuid}/", {"on": "1", "next": evil}), BARE_WORDS
    )
    failures += _redirect_failures(
        lambda evil: client.post(f"/videos/{video.uuid}/edit/", {**EDIT_FORM, "next": evil}), BARE_WORDS
    )
    body = {"playlist": "new", "new_title": "Reel", "video": str(video.uuid)}
    failures += _redirect_failures(
        lambda evil: client.post("/library/playlists/add/", {**body, "next": evil}), BARE_WORDS
    )
    assert failures == []


# The spellings that matter for links drawn from ``next`` (the others behave the same).
LINK_EVIL = [e for e in EVIL if e.lstrip().lower().startswith(("/", "\\", "j", "d", "v", "h")) or "%" in e][:14]


def test_edit_page_never_links_off_site(client, uploader):
    video = LadderVideoFactory(uploader=uploader, title="Edit me", ladder=False)
    client.force_login(uploader)
    for evil in LINK_EVIL:
        page = client.get(f"/videos/{video.uuid}/edit/", {"next": evil})
        assert page.status_code == 200
        for href in links(page.content.decode()):
            assert_stays_on_site(href, ("link", evil))


def test_add_to_playlist_page_never_links_off_site(client, viewer, uploader):
    video = LadderVideoFactory(uploader=uploader, title="Add page", ladder=False)
    client.force_login(viewer)
    for evil in LINK_EVIL:
        page = client.get("/library/playlists/add/", {"video": str(video.uuid), "next": evil})
        assert page.status_code == 200
        html = page.content.decode()
        for href in links(html):
            assert_stays_on_site(href, ("link", evil))
        for value in re.findall(r'name="next" value="([^"]*)"', html):
            assert_stays_on_site(value, ("hidden next", evil))


def test_redirects_after_https_requests_do_not_downgrade(client, viewer, uploader, settings):
    """Behind TLS, an http:// next on our own host is a downgrade (cookies in the clear on a hostile network)."""
    video = LadderVideoFactory(uploader=uploader, title="Downgrade", ladder=False)
    client.force_login(viewer)
    checks = {
        "login": client.get("/accounts/login/", {"next": "http://testserver/library/"}, secure=True),
        "favourite": client.post(
            f"/library/favorites/{video.uuid}/", {"on": "1", "next": "http://testserver/library/"}, secure=True
        ),
        "playlist add": client.post(
            "/library/playlists/add/",
            {"playlist": "new", "new_title": "R", "video": str(video.uuid), "next": "http://testserver/library/"},
            secure=True,
        ),
    }
    failures = [name for name, response in checks.items() if response["Location"].startswith("http://")]
    assert failures == []


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "action", "formaction") and value is not None:
                self.found.append(value)


def links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.found
