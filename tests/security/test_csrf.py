"""
Hostile input, part 2 — CSRF. Every URL of the HTML site and the admin, enumerated from the
resolver, refuses a POST without a token from a signed-in browser (and from an anonymous
one); no page view is ``csrf_exempt``; GET never changes state. On the API, a session must
bring the token for every unsafe method (DRF SessionAuthentication), a JWT needs none, and
the token-less public endpoints take JSON only (a cross-site form cannot send it).
"""

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from accounts.api.views import PublicApiView, tokens_for
from accounts.models import User
from audit.models import AuditEvent
from governance.models import Consent, DeletionDue, LegalHold, RetentionPolicy
from library.models import Favorite, Playlist, PlaylistItem, SearchSynonym, WatchProgress
from privacy.models import PrivacyRange, PrivacyScan
from teaching.models import Caption, Chapter, Comment, Notification, Step
from tests.routes import routes
from tests.security.world import ADMIN_OBJECTS
from tests.signin import otp_client
from videos.models import Category, Surgeon, Tag, Upload, Video

pytestmark = pytest.mark.django_db

CSRF_PAGE = "The form could not be sent"
CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")
GENERIC_ADMIN = re.compile(r"^admin/(?P<app>[a-z_]+)/(?P<model>[a-z_]+)/<path:object_id>/")


def html_routes():
    return [(route, name, pattern) for route, name, pattern in routes() if not route.startswith("api/")]


def api_routes():
    return [(route, name, pattern) for route, name, pattern in routes() if route.startswith("api/")]


def concrete_url(route: str, values: dict) -> str:
    """A real URL for ``route`` with every parameter filled from ``values`` (by route and name)."""
    if route == "admin/(?P<url>.*)$":
        return "/admin/no-such-page/"
    if "(?P<app_label>" in route:
        return "/admin/videos/"
    generic = GENERIC_ADMIN.match(route)

    def fill(match):
        parameter = match.group("parameter")
        if parameter == "object_id" and generic:
            return str(values[f"{generic['app']}.{generic['model']}"])
        for prefix, value in values.get(parameter, {}).items():
            if route.startswith(prefix):
                return str(value)
        raise AssertionError(f"no test value for <{parameter}> in {route}: add one to url_values()")

    return "/" + CONVERTER.sub(fill, route)


@pytest.fixture
def url_values(world, admin_user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=admin_user).first()
    values = {
        "video_uuid": {"": world.published.uuid},
        "uuid": {"": world.published.uuid},
        "upload_id": {"": world.upload.pk},
        "playlist_id": {"": world.own.pk},
        "item_id": {"": world.own.items.first().pk},
        "rung": {"": "360p"},
        "segment": {"": "seg_00000.ts"},
        "name": {"": "poster.jpg"},
        "slug": {"library/categories/": world.category.slug, "library/tags/": world.tag.slug},
        "pk": {
            "library/playlists/": world.own.pk,
            "library/surgeons/": world.surgeon.pk,
            "admin/audit/users/": world.owner.pk,
            "admin/accounts/user/": world.owner.pk,
            "admin/otp_totp/totpdevice/": device.pk,
        },
        "id": {"admin/accounts/user/": world.owner.pk},
        "uidb64": {"": urlsafe_base64_encode(force_bytes(world.attacker.pk))},
        "token": {"": default_token_generator.make_token(world.attacker)},
        "content_type_id": {"": ContentType.objects.get_for_model(Video).pk},
        "object_id": {"": world.published.pk},
        # Privacy ranges are on the hidden video (the world's only scan); comments and captions on the published one.
        "range_id": {"": world.hidden_range.pk},
        "comment_id": {"": world.published_comment.pk},
        "caption_id": {"": world.published_caption.pk},
    }
    for model, (get_pk, _roles) in ADMIN_OBJECTS.items():
        values[model] = get_pk(world)
    return values


def database_state():
    """What a forged POST could change, in one comparable value."""
    return (
        list(User.objects.order_by("pk").values_list("pk", "is_active", "password", "locked_until", "full_name")),
        list(Video.objects.order_by("pk").values_list("pk", "status", "title")),
        list(Playlist.objects.order_by("pk").values_list("pk", "title", "is_shared")),
        list(PlaylistItem.objects.order_by("pk").values_list("pk", "position", "playlist_id")),
        list(Favorite.objects.order_by("pk").values_list("pk", flat=True)),
        list(WatchProgress.objects.order_by("pk").values_list("pk", flat=True)),
        list(Upload.objects.order_by("pk").values_list("pk", "offset")),
        Tag.objects.count(),
        Category.objects.count(),
        Surgeon.objects.count(),
        SearchSynonym.objects.count(),
        # Governance, privacy and teaching (issues #16, #17).
        list(Consent.objects.order_by("pk").values_list("pk", "status", "purpose")),
        list(LegalHold.objects.order_by("pk").values_list("pk", "video_id")),
        list(RetentionPolicy.objects.order_by("pk").values_list("pk", "keep_years")),
        list(DeletionDue.objects.order_by("pk").values_list("pk", "confirmed_at")),
        list(PrivacyRange.objects.order_by("pk").values_list("pk", "start", "end", "decision")),
        list(PrivacyScan.objects.order_by("pk").values_list("pk", "status", "applying_token")),
        list(Chapter.objects.order_by("pk").values_list("pk", "start", "title")),
        list(Comment.objects.order_by("pk").values_list("pk", "body", "edited_at")),
        list(Caption.objects.order_by("pk").values_list("pk", "label")),
        list(Notification.objects.order_by("pk").values_list("pk", "read_at")),
        Step.objects.count(),
    )


def forged_body(route: str, values: dict) -> dict:
    """Plausible form data: an admin action on a changelist, else fields of the usual forms."""
    body = {
        "title": "forged",
        "username": "forged",
        "password": "Correct-Horse-9!",
        "email": "forged@evil.example",
        "theme": "dark",
        "on": "0",
        "direction": "down",
        "post": "yes",
        "new_password1": "Forged-Pass-123!",
        "new_password2": "Forged-Pass-123!",
    }
    changelist = re.match(r"^admin/(?P<app>[a-z_]+)/(?P<model>[a-z_]+)/$", route)
    if changelist and f"{changelist['app']}.{changelist['model']}" in values:
        body.update(action="delete_selected", _selected_action=[values[f"{changelist['app']}.{changelist['model']}"]])
    return body


def test_every_url_parameter_has_a_test_value(url_values):
    for route, _name, _pattern in routes():
        concrete_url(route, url_values)  # raises naming the missing parameter


def test_no_page_view_is_csrf_exempt():
    exempt = [
        f"{name or route}" for route, name, pattern in html_routes() if getattr(pattern.callback, "csrf_exempt", False)
    ]
    assert exempt == []


@pytest.mark.parametrize("area", ["accounts/", "videos/", "library/", "admin/", "site"])
@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
def test_every_html_post_without_a_token_is_refused(url_values, admin_user, area, signed_in):
    """Admin (with the second factor) reaches every page; a forged POST must change nothing."""
    selected = [
        route
        for route, _name, _pattern in html_routes()
        if (
            route.startswith(area)
            if area != "site"
            else not route.startswith(("accounts/", "videos/", "library/", "admin/"))
        )
    ]
    assert selected, area
    before = database_state()
    failures = []
    browser = Client(enforce_csrf_checks=True)
    if signed_in:
        otp_client(admin_user, browser)
    for route in selected:
        url = concrete_url(route, url_values)
        response = browser.post(url, forged_body(route, url_values))
        if response.status_code != 403 or CSRF_PAGE not in response.content.decode(errors="replace"):
            failures.append(f"{url}: {response.status_code}")
    assert failures == []
    assert database_state() == before


def test_the_token_is_what_makes_the_difference(admin_user, world):
    """Control: the same forged requests with the browser's own token go through."""
    browser = otp_client(admin_user, Client(enforce_csrf_checks=True))
    page = browser.get("/accounts/settings/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = browser.post(
        "/admin/accounts/user/",
        {"action": "lock", "_selected_action": [world.owner.pk], "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    world.owner.refresh_from_db()
    assert world.owner.is_admin_locked


def test_get_never_changes_state(url_values, admin_user):
    """A cross-site <img src> or link is a GET: no page may act on one."""
    before = database_state()
    events = AuditEvent.objects.count()
    failures = []
    browser = otp_client(admin_user, Client(enforce_csrf_checks=True))
    for route, _name, _pattern in html_routes():
        if GENERIC_ADMIN.match(route) or re.match(r"^admin/[a-z_]+/[a-z_]+/(add/)?$", route):
            continue  # Django's own ModelAdmin views: GET only renders (a confirmation page at most)
        url = concrete_url(route, url_values)
        response = browser.get(url, {"on": "0", "action": "delete_selected", "post": "yes"})
        if response.status_code >= 500 and not (route == "healthz" and response.status_code == 503):
            failures.append(f"{url}: {response.status_code}")
    assert failures == []
    assert browser.get("/accounts/profile/").status_code == 200  # no GET signed the browser out
    assert database_state() == before
    assert AuditEvent.objects.count() == events, list(AuditEvent.objects.values_list("event", flat=True))
    for path in ("/accounts/logout/", "/admin/logout/"):
        browser = otp_client(admin_user, Client(enforce_csrf_checks=True))
        browser.get(path)
        assert browser.get("/accounts/profile/").status_code == 200, path  # still signed in


# ------------------------------------------------------------------------------ API


def unsafe_methods(pattern) -> list[str]:
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is None:  # plain Django views (media): GET only, see below
        return []
    return [m for m in ("post", "put", "patch", "delete") if hasattr(view_class, m)]


def test_media_function_views_accept_only_get(url_values):
    for route, _name, pattern in api_routes():
        if getattr(pattern.callback, "view_class", None) is not None:
            continue
        response = Client().post(concrete_url(route, url_values))
        assert response.status_code == 405, route


@pytest.fixture
def session_api(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.attacker)
    return client


def test_every_unsafe_api_call_with_a_session_needs_the_token(url_values, session_api, world):
    before = database_state()
    checked, failures = 0, []
    for route, _name, pattern in api_routes():
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class is None or issubclass(view_class, PublicApiView):
            continue
        url = concrete_url(route, url_values)
        for method in unsafe_methods(pattern):
            response = getattr(session_api, method)(
                url, {"title": "forged", "position": 1}, format="json", HTTP_TUS_RESUMABLE="1.0.0"
            )
            checked += 1
            body = response.content.decode(errors="replace")
            if response.status_code != 403 or "CSRF" not in body:
                failures.append(f"{method.upper()} {url}: {response.status_code} {body[:80]}")
    assert checked >= 20
    assert failures == []
    assert database_state() == before


def test_public_api_endpoints_refuse_what_a_cross_site_form_can_send(url_values, world):
    """Token-less endpoints skip CSRF; they must take JSON only (which needs a CORS preflight)."""
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(world.attacker)
    public = [
        (route, pattern)
        for route, _name, pattern in api_routes()
        if issubclass(getattr(pattern.callback, "view_class", object), PublicApiView)
    ]
    assert len(public) >= 6
    for route, pattern in public:
        # Registration included: a cross-site form could register from a colleague's browser
        # (and address); ID documents are attached on the registration page instead.
        url = concrete_url(route, url_values)
        for content_type in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"):
            cache.clear()  # rate limits count before parsing; this is about the parser
            response = browser.post(url, "username=mallory&password=x", content_type=content_type)
            assert response.status_code == 415, (route, content_type, response.status_code)


def test_jwt_calls_need_no_csrf_token(world):
    api = APIClient(enforce_csrf_checks=True)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(world.attacker, otp=False)['access']}")
    video = world.published.uuid
    assert api.patch("/api/v1/auth/me/", {"theme": "dark"}, format="json").status_code == 200
    assert api.put(f"/api/v1/videos/{video}/favorite/", format="json").status_code == 200
    assert api.put(f"/api/v1/videos/{video}/progress/", {"position": 3}, format="json").status_code == 200
    created = api.post("/api/v1/playlists/", {"title": "via jwt"}, format="json")
    assert created.status_code == 201
    assert api.delete(f"/api/v1/playlists/{created.json()['id']}/").status_code == 204
    world.attacker.refresh_from_db()
    assert world.attacker.theme == "dark"


def test_session_with_the_token_goes_through(world):
    """Control for the session case: the same call with the cookie's token succeeds."""
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(world.attacker)
    page = Client()
    page.cookies = api.cookies
    html = page.get("/accounts/settings/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = api.patch("/api/v1/auth/me/", {"theme": "dark"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    world.attacker.refresh_from_db()
    assert world.attacker.theme == "dark"
