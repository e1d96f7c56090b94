"""
Django admin in Chromium, per role: each staff role signs in through the site's own sign-in
with its second factor and sees exactly the admin screens its permissions give (the same
expectations as tests/accounts/test_admin_roles.py). The Approver also rejects a video with a reason
through the intermediate page, and the status badges are styled by static/admin/svl.css
under the Content-Security-Policy.
"""

import re

import pytest

from accounts import roles
from tests.accounts.test_admin_roles import EXPECTED_INDEX, expected_entries
from tests.factories import PASSWORD, TOTPDeviceFactory, UserFactory, VideoFactory
from tests.signin import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A few menu entries by their visible name, to read the result as a person would.
NAMES = {
    "videos.video": "Videos",
    "videos.tag": "Tags",
    "library.searchsynonym": "Search synonyms",
    "accounts.user": "Users",
    "audit.auditevent": "Audit events",
}


def watch_console(page) -> list[str]:
    """
    Console errors of ``page``, except Chromium's own /favicon.ico request: Django admin's
    templates link no icon, so the first admin page a browser opens asks for one (404).
    """
    errors = []

    def seen(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", seen)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def staff_user(role: str, username: str):
    user = UserFactory(username=username, roles=roles.ROLES[: roles.ROLES.index(role) + 1])
    return user, TOTPDeviceFactory(user=user)


def sign_in_to_admin(page, live_server, username, device):
    page.goto(f"{live_server.url}/admin/")
    assert "/accounts/login/" in page.url  # the admin sends people to the site's own sign-in
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/verify/" in page.url
    page.locator("#id_code").fill(totp_code(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}/admin/"


def menu(page) -> set[str]:
    """The model links of the admin index, as ``app_label.model`` names."""
    hrefs = page.locator("#content-main th[scope=row] a").evaluate_all("links => links.map(a => a.pathname)")
    return {".".join(href.strip("/").split("/")[1:3]) for href in hrefs}


@pytest.mark.parametrize("role", [roles.EDITOR, roles.APPROVER, roles.ADMIN])
def test_each_staff_role_sees_exactly_its_menu(page, live_server, shot, role):
    errors = watch_console(page)
    _, device = staff_user(role, role.lower())
    sign_in_to_admin(page, live_server, role.lower(), device)
    assert menu(page) == expected_entries(role) == EXPECTED_INDEX[role]
    for name, text in NAMES.items():
        # The whole name: "Videos" is also the start of "Videos due for deletion" (governance).
        link = page.locator("#content-main th[scope=row] a", has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))
        assert link.count() == (1 if name in EXPECTED_INDEX[role] else 0), (role, text)
    shot(page, f"admin-index-{role.lower()}")
    assert errors == []


def test_approver_rejects_with_a_reason_in_the_browser(page, live_server, shot):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    video = VideoFactory(
        uploader=uploader,
        title="Consent unclear",
        status="processed",
    )
    errors = watch_console(page)
    _, device = staff_user(roles.APPROVER, "appy")
    sign_in_to_admin(page, live_server, "appy", device)

    page.goto(f"{live_server.url}/admin/videos/video/")
    badge = page.locator(".svl-status").first
    assert badge.inner_text() == "Awaiting review"
    # Styled by the stylesheet (a class, no inline style): a coloured pill.
    assert badge.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(180, 83, 9)"
    shot(page, "admin-video-list")
    page.locator(f"input[name=_selected_action][value='{video.pk}']").check()
    page.locator("select[name=action]").select_option("reject")
    page.get_by_role("button", name="Go").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Reject videos").is_visible()

    page.get_by_role("button", name="Reject").click()  # no reason yet
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("This field is required.").is_visible()
    video.refresh_from_db()
    assert video.status == "processed"

    page.locator("textarea[name=reason]").fill("Patient face visible at 02:10.")
    shot(page, "admin-reject-reason")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("1 video(s) rejected.").is_visible()
    video.refresh_from_db()
    assert (video.status, video.review_note) == ("rejected", "Patient face visible at 02:10.")
    assert errors == []
