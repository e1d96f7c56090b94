"""
Hostile input, part 2 — HTML, JavaScript and template injection. A script tag, an
attribute breakout with an event handler, a ``javascript:`` URL and template syntax are put
in every text field that reaches a page or admin (video title, description, transcript,
original file name, review reason, failure reason; tag, category and surgeon names,
specialty and bio; playlist title, description and item note; full names; search query;
synonyms; audit details; upload file names), then every page that shows them is parsed:
no injected element or handler, no ``javascript:`` link, JSON script blocks intact, and the
payload present as text (so a page that stopped showing it cannot pass by accident).
Review e-mails are plain text with a one-line subject.
"""

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from accounts import roles
from audit.models import AuditEvent
from library.models import Playlist, SearchSynonym, ViewEvent
from tests.factories import (
    AuditEventFactory,
    CategoryFactory,
    FavoriteFactory,
    LadderVideoFactory,
    PlaylistFactory,
    PlaylistItemFactory,
    SearchSynonymFactory,
    SurgeonFactory,
    TagFactory,
    VideoSurgeonFactory,
    ViewEventFactory,
    WatchProgressFactory,
)
from tests.signin import otp_client, signed_in
from videos import services
from videos.models import Category, Surgeon, Tag, Video

pytestmark = pytest.mark.django_db

TPL = "{{7*7}}"
PAYLOAD = f'<script>alert(1)</script>"><img src=x onerror=alert(1)>{TPL}'
TAG_PAYLOAD = f"<script>alert(2)</script><img src=x onerror=alert(2)>{TPL}"  # tags hold 60 characters
JS_URL = "javascript:alert(3)"
assert len(TAG_PAYLOAD) <= 60 and len(PAYLOAD) <= 80


# ------------------------------------------------------------------------------ the checker

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "xlink:href", "srcset", "background"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html")


class Scan(HTMLParser):
    """What a browser would build from the page: elements, attributes, scripts and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self.script: dict | None = None
        self.script_data: list[str] = []
        self.json_blocks: dict[str, object] = {}

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "img" and (values.get("src") or "").strip() == "x":
            self.problems.append(f"injected <img src=x>: {attrs}")
        for name, value in attrs:
            value = value or ""
            self.text.append(value)
            if name.startswith("on"):
                self.problems.append(f"event handler attribute <{tag} {name}={value!r}>")
            squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
            if name in URL_ATTRIBUTES and squeezed.startswith(BAD_SCHEMES):
                self.problems.append(f"dangerous URL <{tag} {name}={value!r}>")
        if tag == "script":
            self.script, self.script_data = values, []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag != "script" or self.script is None:
            return
        data, attrs = "".join(self.script_data), self.script
        self.script = None
        if attrs.get("type") == "application/json":
            try:
                self.json_blocks[attrs.get("id", "?")] = json.loads(data)
            except ValueError:
                self.problems.append(f"JSON block {attrs.get('id')} broken: {data[:80]!r}")
            if "<" in data:
                self.problems.append(f"JSON block {attrs.get('id')} holds a raw '<'")
        elif "src" not in attrs:
            self.problems.append(f"inline script: {data[:80]!r}")
        elif "alert(" in attrs["src"]:
            self.problems.append(f"injected script src {attrs['src']!r}")

    def handle_data(self, data):
        if self.script is not None:
            self.script_data.append(data)
        else:
            self.text.append(data)


def scan(html: str) -> Scan:
    parser = Scan()
    parser.feed(html)
    parser.close()
    return parser


def check_page(response, *, shows=("alert(1)",), literal_template=True, status=200) -> list[str]:
    """Problems on the page, plus a complaint if the payload is not there as text."""
    if response.status_code != status:
        return [f"status {response.status_code}"]
    html = response.content.decode()
    found = scan(html)
    problems = list(found.problems)
    if re.search(r"<script>\s*alert", html, re.IGNORECASE):
        problems.append("raw <script>alert in the markup")
    text = "\n".join(found.text)
    for marker in shows:
        if marker not in text:
            problems.append(f"payload {marker!r} not shown as text (the page no longer shows the field?)")
    if literal_template and TPL not in text:
        problems.append(f"template syntax {TPL!r} not shown literally (evaluated, or the field is gone)")
    return problems


def test_the_checker_catches_each_injection():
    """Control: every kind of injection the pages are checked for is spotted."""
    cases = {
        "script": "<p>x</p><script>alert(1)</script>",
        "handler": '<p title=""><img src=x onerror=alert(1)></p>',
        "handler on any tag": '<a href="/" onclick="alert(1)">x</a>',
        "javascript link": '<a href=" JaVa\tScRiPt:alert(1)">x</a>',
        "broken json": '<script type="application/json" id="t">["</script><script>alert(1)</script>"]</script>',
        "json with raw lt": '<script type="application/json" id="t">["<b>"]</script>',
    }
    for name, html in cases.items():
        assert scan(html).problems, name
    safe = (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p>"
        '<script type="application/json" id="t">["\\u003Cscript\\u003E"]</script><script src="/static/js/app.js"></script>'
    )
    assert scan(safe).problems == []


# ------------------------------------------------------------------------------ the poisoned library


@dataclass
class Poisoned:
    uploader: object
    viewer: object
    approver: object
    published: Video
    pending: Video
    rejected: Video
    failed: Video
    playlist: Playlist
    category: Category
    tag: Tag
    surgeon: Surgeon
    synonym: SearchSynonym


@pytest.fixture
def poisoned(make_user, django_capture_on_commit_callbacks, mailoutbox):
    uploader = make_user(roles.VIEWER, roles.UPLOADER, username="uma", full_name=PAYLOAD)
    viewer = make_user(roles.VIEWER, username="vera", full_name=PAYLOAD)
    approver = make_user(*roles.ROLES, username="appy", full_name=PAYLOAD, is_staff=True)
    category = CategoryFactory(name=PAYLOAD, description=f"{PAYLOAD} {JS_URL}")
    tag = TagFactory(name=TAG_PAYLOAD)
    surgeon = SurgeonFactory(name=PAYLOAD, specialty=PAYLOAD, bio=f"{PAYLOAD} {JS_URL}")
    common = {
        "description": f"{PAYLOAD}\n{JS_URL}",
        "transcript": f"{PAYLOAD} spoken {TPL}",
        "original_name": f"{PAYLOAD}.mp4",
        "category": category,
    }
    published = LadderVideoFactory(uploader=uploader, title=f"Case {PAYLOAD}", **common)
    pending = LadderVideoFactory(uploader=uploader, title=f"Queue {PAYLOAD}", status=Video.Status.PROCESSED, **common)
    rejected = LadderVideoFactory(
        uploader=uploader, title=f"Refused {PAYLOAD}", status=Video.Status.PROCESSED, **common
    )
    failed = LadderVideoFactory(
        uploader=uploader, title=f"Broken {PAYLOAD}", status=Video.Status.FAILED, failure_reason=PAYLOAD, ladder=False
    )
    for video in (published, pending, rejected):
        video.tags.add(tag)
        VideoSurgeonFactory(video=video, surgeon=surgeon)
    with django_capture_on_commit_callbacks(execute=True):
        services.video_reject(user=approver, video=rejected, reason=f"{PAYLOAD}\n{JS_URL}")
    rejected.refresh_from_db()
    playlist = PlaylistFactory(owner=uploader, title=PAYLOAD, description=f"{PAYLOAD} {JS_URL}", is_shared=True)
    PlaylistItemFactory(playlist=playlist, video=published, position=0, note=PAYLOAD)
    synonym = SearchSynonymFactory(term=PAYLOAD, synonyms=f"{PAYLOAD}, case")
    for user in (viewer, uploader):
        WatchProgressFactory(user=user, video=published, position=3, duration=12)
        FavoriteFactory(user=user, video=published)
        ViewEventFactory(user=user, video=published, seconds_watched=3)
    AuditEventFactory(
        event="video_upload", actor=uploader, username=PAYLOAD, detail={"video": str(pending.uuid), "name": PAYLOAD}
    )
    services.upload_start(user=uploader, filename=f"{PAYLOAD}.mp4", length=100, metadata={"title": PAYLOAD})
    Client().post("/accounts/login/", {"username": PAYLOAD, "password": "wrong"})  # a failed sign-in, audited
    return Poisoned(
        uploader=uploader,
        viewer=viewer,
        approver=approver,
        published=published,
        pending=pending,
        rejected=rejected,
        failed=failed,
        playlist=playlist,
        category=category,
        tag=tag,
        surgeon=surgeon,
        synonym=synonym,
    )


def _run(browser, pages: dict) -> list[str]:
    failures = []
    for name, (url, options) in pages.items():
        for problem in check_page(browser.get(url), **options):
            failures.append(f"{name} {url}: {problem}")
    return failures


# ------------------------------------------------------------------------------ the site


def test_viewer_pages_escape_every_field(poisoned):
    p = poisoned
    watch = reverse("videos:watch", args=[p.published.uuid])
    pages = {
        "home": (reverse("home"), {}),
        "watch": (watch, {"shows": ("alert(1)", "alert(2)")}),
        "watch from playlist": (f"{watch}?playlist={p.playlist.pk}&play=1", {}),
        "search": (reverse("library:search") + "?q=alert", {}),
        "search for the payload": (reverse("library:search") + "?" + _q(PAYLOAD), {}),
        "search with a synonym": (reverse("library:search") + "?" + _q("case script"), {}),
        "search by tag": (reverse("library:search") + "?" + _q(TAG_PAYLOAD, key="tags"), {}),
        "search by category": (reverse("library:search") + "?" + _q(PAYLOAD, key="category"), {}),
        "search by uploader": (reverse("library:search") + "?" + _q(PAYLOAD, key="uploader"), {}),
        "search error": (reverse("library:search") + "?duration_min=x&" + _q(PAYLOAD), {"status": 400}),
        "category": (reverse("library:category", args=[p.category.slug]), {}),
        "categories": (reverse("library:categories"), {}),
        "tag": (reverse("library:tag", args=[p.tag.slug]), {"shows": ("alert(2)",)}),
        "tags": (reverse("library:tags"), {"shows": ("alert(2)",)}),
        "surgeon": (reverse("library:surgeon", args=[p.surgeon.pk]), {}),
        "surgeons": (reverse("library:surgeons"), {}),
        "history": (reverse("library:history"), {}),
        "favorites": (reverse("library:favorites"), {}),
        "playlists": (reverse("library:playlists"), {}),
        "playlist": (reverse("library:playlist", args=[p.playlist.pk]), {}),
        "add to playlist": (reverse("library:playlist_add") + f"?video={p.published.uuid}", {}),
        "profile": (reverse("accounts:profile"), {}),
        "settings": (reverse("accounts:settings"), {}),
        "security": (reverse("accounts:security"), {"literal_template": False}),  # short name only
    }
    assert _run(signed_in(p.viewer), pages) == []


def _q(value, key="q"):
    from urllib.parse import urlencode

    return urlencode({key: value})


def test_uploader_pages_escape_every_field(poisoned):
    p = poisoned
    pages = {
        "mine": (reverse("videos:mine"), {}),
        "upload": (reverse("videos:upload"), {"shows": ("alert(1)",)}),
        "edit": (reverse("videos:edit", args=[p.published.uuid]), {"shows": ("alert(1)", "alert(2)")}),
        "edit rejected": (reverse("videos:edit", args=[p.rejected.uuid]), {}),
        "watch rejected": (reverse("videos:watch", args=[p.rejected.uuid]), {}),
        "watch failed": (reverse("videos:watch", args=[p.failed.uuid]), {}),
        "own playlist": (reverse("library:playlist", args=[p.playlist.pk]), {}),
    }
    browser = signed_in(p.uploader)
    assert _run(browser, pages) == []
    upload = scan(browser.get(reverse("videos:upload")).content.decode())
    assert TAG_PAYLOAD in upload.json_blocks["upload-tags"]  # json_script kept the name intact
    mine = browser.get(reverse("videos:mine")).content.decode()
    assert "javascript:alert(3)" in "\n".join(scan(mine).text)  # the review reason, as text


def test_reviewer_pages_escape_every_field(poisoned):
    p = poisoned
    pages = {
        "review queue": (reverse("videos:review"), {}),
        "review page": (reverse("videos:review_video", args=[p.pending.uuid]), {"shows": ("alert(1)", "alert(2)")}),
        "review page of a rejected video": (reverse("videos:review_video", args=[p.rejected.uuid]), {}),
        "review page of a failed video": (reverse("videos:review_video", args=[p.failed.uuid]), {}),
    }
    browser = otp_client(p.approver)
    assert _run(browser, pages) == []
    history = browser.get(reverse("videos:review_video", args=[p.rejected.uuid])).content.decode()
    assert "javascript:alert(3)" in "\n".join(scan(history).text)  # the audit note, as text


def test_player_preferences_json_block_is_intact(poisoned):
    browser = signed_in(poisoned.viewer)
    page = scan(browser.get(reverse("videos:watch", args=[poisoned.published.uuid])).content.decode())
    assert page.problems == []
    assert set(page.json_blocks["player-preferences"]) >= {"quality", "speed", "autoplay"}


# ------------------------------------------------------------------------------ admin


def test_admin_pages_escape_every_field(poisoned):
    p = poisoned
    upload = p.uploader.uploads.get()
    event = AuditEvent.objects.filter(username=PAYLOAD).first()
    failed_sign_in = AuditEvent.objects.filter(event="login_failure").first()
    view = ViewEvent.objects.filter(user=p.viewer).first()
    short = {"shows": ("alert(2)",)}
    pages = {
        "video changelist": ("/admin/videos/video/", {}),
        "video search": ("/admin/videos/video/?" + _q("alert"), {}),
        "video change": (f"/admin/videos/video/{p.published.pk}/change/", {}),
        "failed video change": (f"/admin/videos/video/{p.failed.pk}/change/", {}),
        "video delete": (f"/admin/videos/video/{p.published.pk}/delete/", {}),
        "video history": (f"/admin/videos/video/{p.published.pk}/history/", {"literal_template": True}),
        "tag changelist": ("/admin/videos/tag/", short),
        "tag change": (f"/admin/videos/tag/{p.tag.pk}/change/", short),
        "category changelist": ("/admin/videos/category/", {}),
        "category change": (f"/admin/videos/category/{p.category.pk}/change/", {}),
        "surgeon changelist": ("/admin/videos/surgeon/", {}),
        "surgeon change": (f"/admin/videos/surgeon/{p.surgeon.pk}/change/", {}),
        "synonym changelist": ("/admin/library/searchsynonym/", {}),
        "synonym change": (f"/admin/library/searchsynonym/{p.synonym.pk}/change/", {}),
        "user changelist": ("/admin/accounts/user/", {}),
        "user change": (f"/admin/accounts/user/{p.uploader.pk}/change/", {}),
        "audit changelist": ("/admin/audit/auditevent/", {"literal_template": True}),
        "audit change": (f"/admin/audit/auditevent/{event.pk}/change/", {}),
        "failed sign-in": (f"/admin/audit/auditevent/{failed_sign_in.pk}/change/", {}),
        "viewing sessions": ("/admin/library/viewevent/", {}),
        "viewing session": (f"/admin/library/viewevent/{view.pk}/change/", {}),
        "uploads": ("/admin/videos/upload/", {"literal_template": True}),
        "upload": (f"/admin/videos/upload/{upload.pk}/change/", {}),
        "dashboard": ("/admin/dashboard/", {}),
        "user activity": (f"/admin/audit/users/{p.uploader.pk}/", {}),
        "video viewers": (f"/admin/audit/videos/{p.published.uuid}/viewers/", {}),
        "admin index": ("/admin/", {"shows": (), "literal_template": False}),
    }
    browser = otp_client(_superuser())
    assert _run(browser, pages) == []


def _superuser():
    from tests.factories import UserFactory

    return UserFactory(username="root", is_superuser=True, is_staff=True, full_name=PAYLOAD)


def test_admin_action_pages_escape_every_field(poisoned):
    """The intermediate pages of admin actions (reject reason, tag/category/surgeon pickers, merge)."""
    p = poisoned
    browser = otp_client(_superuser())
    pages = []
    for action in ("reject", "add_tag", "set_category", "add_surgeon"):
        pages.append(
            (
                action,
                browser.post(
                    "/admin/videos/video/",
                    {"action": action, "_selected_action": [p.published.pk, p.pending.pk]},
                ),
            )
        )
    other = TagFactory(name="plain")
    pages.append(
        (
            "merge tags",
            browser.post("/admin/videos/tag/", {"action": "merge", "_selected_action": [p.tag.pk, other.pk]}),
        )
    )
    failures = []
    for name, response in pages:
        shows = ("alert(2)",) if name == "merge tags" else ("alert(1)",)
        for problem in check_page(response, shows=shows, literal_template=False):
            failures.append(f"{name}: {problem}")
    assert failures == []


# ------------------------------------------------------------------------------ submitting payloads through the forms


def test_payloads_submitted_through_the_pages_come_back_as_text(make_user):
    """The same payloads typed into the site's own forms (not planted in the database)."""
    user = make_user(roles.VIEWER, roles.UPLOADER, username="typist")
    video = LadderVideoFactory(uploader=user, title="Plain")
    browser = signed_in(user)
    edit = browser.post(
        reverse("videos:edit", args=[video.uuid]),
        {
            "title": PAYLOAD,
            "description": f"{PAYLOAD} {JS_URL}",
            "transcript": PAYLOAD,
            "surgeons-TOTAL_FORMS": "0",
            "surgeons-INITIAL_FORMS": "0",
            "surgeons-MIN_NUM_FORMS": "0",
            "surgeons-MAX_NUM_FORMS": "50",
        },
    )
    assert edit.status_code == 302, edit.content[:400]
    created = browser.post(reverse("library:playlist_create"), {"title": PAYLOAD, "description": JS_URL})
    assert created.status_code == 302
    added = browser.post(
        reverse("library:playlist_add"),
        {"playlist": created["Location"].rstrip("/").rsplit("/", 1)[-1], "video": str(video.uuid), "note": PAYLOAD},
    )
    assert added.status_code == 302
    settings = browser.post(
        reverse("accounts:settings"),
        {"full_name": PAYLOAD, "theme": "system", "default_quality": "auto", "default_speed": "1"},
    )
    assert settings.status_code == 302
    failures = []
    for url in [
        reverse("videos:watch", args=[video.uuid]),
        created["Location"],
        reverse("library:playlists"),
        reverse("videos:mine"),
        reverse("home"),
    ]:
        failures += [f"{url}: {problem}" for problem in check_page(browser.get(url))]
    assert failures == []


def test_api_answers_with_payloads_are_never_html(poisoned):
    """Opened in a browser tab, an API answer holding a payload must not render as a page."""
    p = poisoned
    browser = signed_in(p.uploader)
    failures = []
    for url in [
        f"/api/v1/videos/{p.published.uuid}/",
        f"/api/v1/videos/{p.published.uuid}/?format=api",
        "/api/v1/videos/?" + _q(PAYLOAD),
        f"/api/v1/playlists/{p.playlist.pk}/items/",
        "/api/v1/tags/",
        "/api/v1/auth/me/",
        "/api/v1/history/",
        f"/api/v1/videos/{p.published.uuid}/no-such-thing/{PAYLOAD[:20]}",
    ]:
        for accept in ("text/html", "*/*"):
            response = browser.get(url, HTTP_ACCEPT=accept)
            content_type = response.get("Content-Type", "")
            if "html" in content_type or response.get("X-Content-Type-Options") != "nosniff":
                failures.append(f"{url} ({accept}): {response.status_code} {content_type}")
    assert failures == []
    assert b"alert(1)" in browser.get(f"/api/v1/videos/{p.published.uuid}/").content  # control: payload is there


# ------------------------------------------------------------------------------ e-mails


def test_review_emails_are_plain_text_with_a_one_line_subject(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    uploader = make_user(roles.VIEWER, roles.UPLOADER, username="uma", full_name=PAYLOAD)
    approver = make_user(*roles.ROLES, username="appy", is_staff=True)
    title = f"{PAYLOAD}\r\nBcc: victim@evil.example\r\n\r\n<b>body</b>"
    video = LadderVideoFactory(uploader=uploader, title=title[:200], status=Video.Status.PROCESSED, ladder=False)
    other = LadderVideoFactory(uploader=uploader, title=title[:200] + " 2", status=Video.Status.PROCESSED, ladder=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.video_reject(user=approver, video=video, reason=f"{PAYLOAD}\r\nBcc: x@evil.example")
        services.video_publish(user=approver, video=other)
    assert len(mailoutbox) == 2
    for message in mailoutbox:
        assert "\n" not in message.subject and "\r" not in message.subject
        assert message.to == ["uma@hospital.example"] and not message.bcc and not message.cc
        assert message.content_subtype == "plain"
        assert getattr(message, "alternatives", []) == []
        assert "evil.example" not in " ".join(message.recipients()) and "Bcc" not in str(message.extra_headers)
        assert TPL in message.body or TPL in message.subject  # not evaluated
        message.message().as_bytes()  # the message can be built (no header injection error)
    assert PAYLOAD in mailoutbox[0].body  # the reason reaches the uploader as written
