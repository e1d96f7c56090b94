"""
No template source and no Python ``None`` on any page. Every page of the site — every URL
pattern that answers a GET with HTML, the admin included — is rendered as each role (and
signed out) with data in every state: published, awaiting review, processing, failed,
rejected and archived videos, clips in playlists, history, favourites, searches, audit
events. The visible text (text nodes, and the alt, title, placeholder and aria-label a person
meets) must not contain ``{#``, ``#}``, ``{%``, ``%}``, ``{{``, ``}}`` or the word ``None``:
Django prints a ``{# … #}`` comment that spans lines, and ``None`` is what a missing value
looks like when a template forgets it.

``test_every_page_is_rendered`` walks the URL resolver: a new URL fails it until PAGES renders
it or NO_PAGE says why it is not a page.
"""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.tokens import default_token_generator
from django.template import engines
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import roles
from audit.trail import record
from library.models import Playlist, PlaylistItem
from tests.factories import (
    PASSWORD,
    CategoryFactory,
    FavoriteFactory,
    LadderVideoFactory,
    PlaylistFactory,
    PlaylistItemFactory,
    SearchSynonymFactory,
    SurgeonFactory,
    TagFactory,
    TOTPDeviceFactory,
    VideoSurgeonFactory,
    ViewEventFactory,
    WatchProgressFactory,
)
from tests.routes import routes
from tests.signin import otp_client
from videos import services
from videos.models import Category, Surgeon, Tag, Video

pytestmark = pytest.mark.django_db

TEMPLATE_SOURCE = re.compile(r"\{#|#\}|\{%|%\}|\{\{|\}\}")
NONE = re.compile(r"\bNone\b")
# Django's own admin wording, not a value: the empty "Recent actions" box of the admin index
# (django/contrib/admin/templates/admin/index.html). Our templates say "Not given", "No tags".
DJANGO_WORDING = {"None available"}

# ------------------------------------------------------------------------------ the checker

VISIBLE_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label"}


class VisibleText(HTMLParser):
    """The text a person can meet on the page: text nodes (outside scripts and styles, inside
    <template>s, which scripts show) and the attributes that are read or shown."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        values = dict(attrs)
        for name in VISIBLE_ATTRIBUTES & values.keys():
            self.parts.append(values[name] or "")
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            self.parts.append(values.get("value") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def leaks(html: str) -> list[str]:
    """Each line of visible text that shows template source or None."""
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    text = "\n".join(parser.parts)
    return [
        line.strip()[:160]
        for line in text.splitlines()
        if TEMPLATE_SOURCE.search(line) or (NONE.search(line) and line.strip() not in DJANGO_WORDING)
    ]


def test_the_checker_spots_a_multiline_comment_and_none():
    """Control: the player template's old header comment, which Django printed on every player page."""
    template = engines["django"].from_string(
        "<p>Before</p>\n{# The player: hls.js is attached by static/js/player.js. Used by the watch page;\n"
        "   with `playback` it adds the clip notice. #}\n<p>{{ missing.name|default_if_none:'x' }}</p>"
        '<dd>{{ none }}</dd><script>var x = \'{{ "{%" }}\';</script><img alt="{{ none }}" src="x.png">'
    )
    html = template.render({"none": None})
    found = leaks(html)
    assert any(line.startswith("{# The player") for line in found), found
    assert any(line.endswith("clip notice. #}") for line in found), found
    assert found.count("None") == 2, found  # the <dd> and the alt text; never the script
    assert leaks("<p>Nonetheless</p><p>No category</p><script>if (x === None) {}</script>") == []


# ------------------------------------------------------------------------------ the world


@dataclass
class World:
    users: dict[str, object]
    published: Video
    processed: Video
    processing: Video
    failed: Video
    rejected: Video
    archived: Video
    category: Category
    tag: Tag
    surgeon: Surgeon
    private: Playlist
    clip: PlaylistItem
    shared: Playlist


@pytest.fixture
def world(make_user, make_member, settings):
    settings.RATELIMIT_ENABLE = False  # a thousand page views from one test client
    users = {role: make_member(role, username=role.lower(), full_name=f"{role} Person") for role in roles.ROLES}
    uploader = users[roles.UPLOADER]
    viewer = users[roles.VIEWER]
    category = CategoryFactory(name="Hepatobiliary", description="Liver, gallbladder and bile ducts.")
    tag = TagFactory(name="Laparoscopy")
    surgeon = SurgeonFactory(name="Dr Ada Lovelace", specialty="General surgery", bio="Consultant.")
    published = LadderVideoFactory(
        uploader=uploader,
        title="Laparoscopic cholecystectomy",
        description="Critical view of safety.\nClipping the cystic duct.",
        transcript="We open the peritoneum over the triangle.",
        category=category,
        date_of_surgery=datetime.date(2026, 10, 2),
        views=3,
        frame_rate=25,
    )
    published.tags.add(tag)
    VideoSurgeonFactory(video=published, surgeon=surgeon)
    processed = LadderVideoFactory(uploader=uploader, title="Awaiting review case", status=Video.Status.PROCESSED)
    processing = LadderVideoFactory(
        uploader=uploader, title="Encoding case", status=Video.Status.PROCESSING, ladder=False, progress=40
    )
    failed = LadderVideoFactory(
        uploader=uploader,
        title="Broken case",
        status=Video.Status.FAILED,
        ladder=False,
        failure_reason="No video stream.",
    )
    rejected = LadderVideoFactory(
        uploader=uploader,
        title="Rejected case",
        status=Video.Status.REJECTED,
        ladder=False,
        review_note="Face visible at 0:10.",
    )
    archived = LadderVideoFactory(uploader=uploader, title="Archived case", status=Video.Status.ARCHIVED)
    for video in (processed, processing, failed, rejected, archived):
        video.tags.add(tag)

    private = PlaylistFactory(owner=viewer, title="Teaching reel", description="Key steps.")
    clip = PlaylistItemFactory(playlist=private, video=published, position=0, start_time=2, end_time=6, note="Clip")
    PlaylistItemFactory(playlist=private, video=archived, position=1)  # no longer playable for a viewer
    shared = PlaylistFactory(owner=uploader, title="Department reel", is_shared=True)
    PlaylistItemFactory(playlist=shared, video=published, position=0)
    for user in users.values():
        WatchProgressFactory(user=user, video=published, position=5, duration=12)
        FavoriteFactory(user=user, video=published)
        ViewEventFactory(user=user, video=published, seconds_watched=5, ip_address="10.0.0.9")
    SearchSynonymFactory(term="cholecystectomy", synonyms="gallbladder removal")
    record("login_success", actor=viewer, username=viewer.username)
    record("video_reject", actor=users[roles.APPROVER], target=uploader, video=str(rejected.uuid), note="Face visible.")
    services.upload_start(user=uploader, filename="theatre-3.mp4", length=100, metadata={"title": "Theatre 3"})
    make_user(username="newcomer", full_name="New Comer", approval_status="pending", is_active=False)
    _governance_privacy_teaching(users, published, processed, archived, category)
    return World(
        users=users,
        published=published,
        processed=processed,
        processing=processing,
        failed=failed,
        rejected=rejected,
        archived=archived,
        category=category,
        tag=tag,
        surgeon=surgeon,
        private=private,
        clip=clip,
        shared=shared,
    )


def _governance_privacy_teaching(users, published, processed, archived, category):
    """The panels of issues #16 and #17 with something to show: consent, a legal hold, a deletion
    listed, a flagged privacy scan, chapters on steps, a discussion, captions, mentions, an access review."""
    from governance.models import AccessReview, Consent, DeletionDue, LegalHold, RetentionPolicy
    from privacy.models import Mask, PrivacyRange, PrivacyScan
    from teaching import services as teaching_services
    from teaching.models import Comment, Step

    uploader, approver = users[roles.UPLOADER], users[roles.APPROVER]
    Consent.objects.create(video=published, status="obtained", purpose="teaching", set_by=uploader)
    Consent.objects.create(video=archived, status="withdrawn", set_by=approver, withdrawn_at=timezone.now())
    LegalHold.objects.create(video=archived, reason="Litigation 2026-114", set_by=approver)
    DeletionDue.objects.create(video=archived, reason="consent_withdrawn", due_since=timezone.now())
    RetentionPolicy.objects.create(category=category, keep_years=7)
    AccessReview.objects.create(user=uploader, reviewer=users[roles.ADMIN], decision="confirmed", roles=["Uploader"])
    scan = PrivacyScan.objects.create(video=processed, status="flagged", frames=30)
    PrivacyRange.objects.create(scan=scan, start=1, end=3, kinds=["face"], confidence=0.9)
    PrivacyRange.objects.create(
        scan=scan, start=5, end=6, kinds=["manual"], decision="keep", reason="Consented", decided_by=approver
    )
    PrivacyScan.objects.create(video=published, status="clean", frames=30)
    Mask.objects.create(name="Tower overlay", rectangles=[[0, 0, 0.2, 0.1]], category=category)
    step = Step.objects.create(category=category, name="Dissection", colour="#aa3300")
    teaching_services.chapters_replace(
        user=uploader,
        video=published,
        items=[{"start": 0, "title": "Ports"}, {"start": 2, "title": "Clip", "step": step.pk}],
    )
    teaching_services.caption_add(
        user=uploader,
        video=published,
        data=b"WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nWe open the peritoneum.\n",
        language="en",
        label="English",
    )
    first = teaching_services.comment_create(
        user=uploader, video=published, data={"body": "Note the clip @viewer @approver @admin", "at": 2}
    )
    teaching_services.comment_create(
        user=users[roles.VIEWER], video=published, data={"body": "Thanks", "parent": first.pk}
    )
    teaching_services.comment_create(user=uploader, video=published, data={"body": "My own note", "private": True})
    Comment.objects.create(video=published, author=users[roles.EDITOR], body="Whole-video remark")


# ------------------------------------------------------------------------------ the pages


def _video_pages(name):
    def paths(w: World) -> list[str]:
        videos = (w.published, w.processed, w.processing, w.failed, w.rejected, w.archived)
        return [reverse(name, kwargs={"video_uuid": video.uuid}) for video in videos]

    return paths


def _watch(w: World) -> list[str]:
    watch = reverse("videos:watch", kwargs={"video_uuid": w.published.uuid})
    return [
        *_video_pages("videos:watch")(w),
        f"{watch}?t=1m30s",
        f"{watch}?playlist={w.private.pk}&item={w.clip.pk}&play=1",
        f"{watch}?playlist={w.shared.pk}",
    ]


def _password_reset(w: World) -> list[str]:
    user = w.users[roles.VIEWER]
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return [
        reverse("accounts:password_reset_confirm", args=[uid, default_token_generator.make_token(user)]),
        reverse("accounts:password_reset_confirm", args=[uid, "bad-token"]),
    ]


def _playlist(name):
    return lambda w: [reverse(name, args=[w.private.pk]), reverse(name, args=[w.shared.pk])]


# Resolver name → the paths that render it (GET). Pages a role may not open answer a redirect
# or an error page; error pages are HTML and are checked as well.
PAGES: dict[str, Callable[[World], list[str]]] = {
    "home": lambda w: ["/"],
    "terms": lambda w: ["/terms/"],
    "privacy": lambda w: ["/privacy/"],
    "accounts:login": lambda w: [reverse("accounts:login"), reverse("accounts:login") + "?next=/library/history/"],
    "accounts:login_otp": lambda w: [reverse("accounts:login_otp")],  # see test_second_step_of_sign_in
    "accounts:register": lambda w: [reverse("accounts:register")],
    "accounts:register_done": lambda w: [reverse("accounts:register_done")],
    "accounts:password_change": lambda w: [reverse("accounts:password_change")],
    "accounts:password_reset": lambda w: [reverse("accounts:password_reset")],
    "accounts:password_reset_done": lambda w: [reverse("accounts:password_reset_done")],
    "accounts:password_reset_confirm": _password_reset,
    "accounts:profile": lambda w: [reverse("accounts:profile")],
    "accounts:settings": lambda w: [reverse("accounts:settings")],
    "accounts:security": lambda w: [reverse("accounts:security")],
    "accounts:reauth": lambda w: [reverse("accounts:reauth") + "?next=/accounts/security/app/"],
    "accounts:totp_setup": lambda w: [reverse("accounts:totp_setup")],
    "accounts:email_otp_enable": lambda w: [reverse("accounts:email_otp_enable")],
    "accounts:email_otp_verify": lambda w: [reverse("accounts:email_otp_verify")],
    "accounts:sms_setup": lambda w: [reverse("accounts:sms_setup")],
    "accounts:sms_verify": lambda w: [reverse("accounts:sms_verify")],
    "accounts:backup_codes": lambda w: [reverse("accounts:backup_codes")],
    "videos:upload": lambda w: [reverse("videos:upload")],
    "videos:mine": lambda w: [reverse("videos:mine")],
    "videos:review": lambda w: [reverse("videos:review")],
    "videos:review_video": _video_pages("videos:review_video"),
    "videos:watch": _watch,
    "videos:edit": _video_pages("videos:edit"),
    "library:history": lambda w: [reverse("library:history")],
    "library:favorites": lambda w: [reverse("library:favorites")],
    "library:search": lambda w: [
        reverse("library:search"),
        reverse("library:search") + "?q=cholecystectomy",
        reverse("library:search") + f"?q=case&tags={w.tag.name}&category={w.category.name}&ordering=-views",
        reverse("library:search") + "?q=nothing+matches+this",
        reverse("library:search") + "?duration_min=abc",  # a 400 that names the parameter
    ],
    "library:categories": lambda w: [reverse("library:categories")],
    "library:category": lambda w: [reverse("library:category", args=[w.category.slug])],
    "library:tags": lambda w: [reverse("library:tags")],
    "library:tag": lambda w: [reverse("library:tag", args=[w.tag.slug])],
    "library:surgeons": lambda w: [reverse("library:surgeons")],
    "library:surgeon": lambda w: [reverse("library:surgeon", args=[w.surgeon.pk])],
    "library:playlists": lambda w: [reverse("library:playlists")],
    "library:playlist_create": lambda w: [reverse("library:playlist_create")],
    "library:playlist_add": lambda w: [reverse("library:playlist_add") + f"?video={w.published.uuid}"],
    "library:playlist": _playlist("library:playlist"),
    "library:playlist_edit": _playlist("library:playlist_edit"),
    "library:playlist_delete": _playlist("library:playlist_delete"),
    "admin:index": lambda w: [reverse("admin:index")],
    "admin:dashboard": lambda w: [reverse("admin:dashboard")],
    "admin:login": lambda w: [reverse("admin:login")],
    "admin:password_change": lambda w: [reverse("admin:password_change")],
    "admin:app_list": lambda w: [reverse("admin:app_list", args=[app]) for app in ADMIN_APPS],
    "admin:user_activity": lambda w: [reverse("admin:user_activity", args=[w.users[roles.VIEWER].pk])],
    "admin:video_viewers": lambda w: [reverse("admin:video_viewers", args=[w.published.uuid])],
    "admin:auth_user_password_change": lambda w: [
        reverse("admin:auth_user_password_change", args=[w.users[roles.VIEWER].pk])
    ],
    "admin:access_review": lambda w: [reverse("admin:access_review")],
    "teaching:notifications": lambda w: [reverse("teaching:notifications")],
}

# Patterns that are not pages: actions (POST only, or a redirect), files and JSON.
NO_PAGE = {
    "healthz": "JSON for load balancers",
    "accounts:login_otp_resend": "POST: sends a new code",
    "accounts:logout": "POST: signs out",
    "accounts:device_remove": "POST: removes a second factor",
    "library:history_clear": "POST",
    "library:history_remove": "POST",
    "library:favorite_toggle": "POST",
    "library:playlist_play": "a redirect to the first item's watch page",
    "library:playlist_item_remove": "POST",
    "library:playlist_item_move": "POST",
    "admin:logout": "POST: signs out",
    "admin:autocomplete": "JSON",
    "admin:jsi18n": "JavaScript",
    "admin:view_on_site": "a redirect",
    "admin:otp_totp_totpdevice_config": "a provisioning URI for authenticator apps",
    "admin:otp_totp_totpdevice_qrcode": "an image",
    "admin:accounts_user_id_document": "the uploaded ID document (a file)",
    "admin/(?P<url>.*)$": "admin's catch-all (redirects or 404s)",
    # The review page's panels post to these and are sent back to it (rendered with videos:review_video).
    "governance:consent": "POST: the review page's consent form",
    "governance:legal_hold": "POST: the review page's legal-hold form",
    "privacy:add": "POST: the review page's 'mark a stretch by hand'",
    "privacy:decide": "POST: the review page's decision on a range",
    "privacy:apply": "POST: the review page's 'apply decisions'",
    "teaching:notifications_read": "POST: marks notifications read",
}
ADMIN_APPS = sorted({model._meta.app_label for model in django_admin.site._registry})
# Every registered model's list, add form, and change, history and delete pages of an object.
GENERIC_ADMIN = re.compile(r"^admin/[a-z_]+/[a-z_]+/(add/|<path:object_id>/(change/|history/|delete/)?)?$")


def admin_model_pages() -> list[str]:
    paths = []
    for model in django_admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        paths += [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            paths += [reverse(f"{prefix}_{view}", args=[obj.pk]) for view in ("change", "history", "delete")]
    return paths


def test_every_page_is_rendered():
    """Meta-test: a URL pattern outside the API is a page in PAGES, an admin model page, or in NO_PAGE."""
    missing = []
    for route, name, _ in routes():
        if route.startswith("api/") or GENERIC_ADMIN.match(route):
            continue
        key = name or route
        if key not in PAGES and key not in NO_PAGE:
            missing.append(f"{route} ({key})")
    assert missing == [], "pages nobody renders here: " + ", ".join(missing)


# ------------------------------------------------------------------------------ the test


def client_for(world: World, role: str | None) -> Client:
    if role is None:
        return Client()
    user = world.users[role]
    if user.has_role(*roles.ADMIN_SITE_ROLES):  # their role requires the second factor
        client = otp_client(user)
    else:
        client = Client()
        client.force_login(user, backend="accounts.backends.UsernameOrEmailBackend")
    # The second-factor pages need a fresh confirmation of the password first.
    response = client.post(reverse("accounts:reauth"), {"password": PASSWORD, "next": "/"})
    assert response.status_code == 302, response.content[:500]
    return client


def render_all(client: Client, paths: list[str]) -> tuple[dict[str, list[str]], int]:
    problems, pages = {}, 0
    for path in paths:
        response = client.get(path)
        if not response["Content-Type"].startswith("text/html") or response.status_code in (301, 302, 303):
            continue
        pages += 1
        found = leaks(response.content.decode())
        if found:
            problems[f"{path} [{response.status_code}]"] = found
    return problems, pages


@pytest.mark.parametrize("role", [None, *roles.ROLES], ids=["signed-out", *roles.ROLES])
def test_no_template_source_or_none_on_any_page(world, role):
    paths = [path for paths in PAGES.values() for path in paths(world)] + admin_model_pages()
    problems, pages = render_all(client_for(world, role), paths)
    assert problems == {}
    assert pages >= (8 if role is None else 40)  # the pages really were rendered, not redirected


def test_second_step_of_sign_in(world):
    """The code page of a two-step sign-in (it needs the password step first)."""
    TOTPDeviceFactory(user=world.users[roles.ADMIN])
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login_otp")
    problems, pages = render_all(client, [reverse("accounts:login_otp")])
    assert (problems, pages) == ({}, 1)
