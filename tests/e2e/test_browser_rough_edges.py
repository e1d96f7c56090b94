"""
Rough edges seen in Chromium (issue #15): the admin dashboard's hidden chart tables made it
3 900 px tall, and a toast sat on top of the page's main button.
"""

import pytest
from django.urls import reverse

from accounts import roles
from tests.e2e.helpers import sign_in
from tests.factories import LadderVideoFactory, PlaylistFactory, PlaylistItemFactory, TOTPDeviceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every button and link a person acts on; none may sit under a toast.
COVERED = """
() => {
  const toasts = [...document.querySelectorAll('[data-toast]')].map((t) => t.getBoundingClientRect());
  const hits = [];
  for (const el of document.querySelectorAll('.btn, main a, main button')) {
    if (el.closest('[data-toast]')) continue;
    const b = el.getBoundingClientRect();
    if (!b.width || !b.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (toasts.some((t) => t.left < b.right && b.left < t.right && t.top < b.bottom && b.top < t.bottom)) {
      hits.push(el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40));
    }
  }
  return {toasts: toasts.length, hits};
}
"""


def test_admin_dashboard_is_as_tall_as_what_it_shows(page, live_server, make_user, shot):
    admin = make_user(*roles.ROLES, username="ada", is_staff=True)
    device = TOTPDeviceFactory(user=admin)
    sign_in(page, live_server, "ada", device)
    page.goto(live_server.url + reverse("admin:dashboard"))
    charts = page.locator("figure.svl-chart")
    assert charts.count() >= 1
    height = page.evaluate("document.documentElement.scrollHeight")
    # The screen-reader tables stay in the page, but take no room.
    assert page.locator("figure.svl-chart table").first.evaluate("t => t.closest('.visually-hidden') !== null")
    bottom = page.evaluate(
        "Math.max(...[...document.querySelectorAll('#content > *')].map(e => e.getBoundingClientRect().bottom))"
    )
    assert height < bottom + 400, (height, bottom)
    assert height < 2000, height
    shot(page, "admin-dashboard")


@pytest.mark.parametrize("width", [360, 1280])
def test_a_toast_never_covers_the_main_button(browser, live_server, make_user, width):
    context = browser.new_context(viewport={"width": width, "height": 740})
    page = context.new_page()
    try:
        user = make_user(roles.VIEWER, username="vera")
        video = LadderVideoFactory(title="A case")
        playlist = PlaylistFactory(owner=user, title="Reel")
        PlaylistItemFactory(playlist=playlist, video=video, position=0)
        sign_in(page, live_server, "vera")
        # A playlist saved: its page comes back with "Playlist saved." and its "Play all".
        page.goto(live_server.url + reverse("library:playlist", args=[playlist.pk]))
        page.get_by_text("Edit title, description and sharing").click()
        page.get_by_role("button", name="Save changes").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("[data-toast]").count() == 1
        found = page.evaluate(COVERED)
        assert found == {"toasts": 1, "hits": []}
        # Preferences saved: the settings page and its Save button.
        page.goto(live_server.url + reverse("accounts:settings"))
        page.locator("form button[type=submit].btn-primary").last.scroll_into_view_if_needed()
        page.locator("form button[type=submit].btn-primary").last.click()
        page.wait_for_load_state("networkidle")
        page.locator("form button[type=submit].btn-primary").last.scroll_into_view_if_needed()
        found = page.evaluate(COVERED)
        assert found["hits"] == [], found
    finally:
        context.close()
