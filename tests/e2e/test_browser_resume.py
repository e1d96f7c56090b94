"""Resume and favourites in Chromium: a viewer watches part of a video, pauses (which saves the
position), opens it on "another device" (a fresh browser context) and carries on from there,
then adds it to their favourites without a page reload."""

import pytest

from accounts import roles
from library.models import Favorite, WatchProgress
from tests.e2e import helpers
from tests.e2e.helpers import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIDEO = "document.querySelector('[data-video]')"


def new_page(browser, errors):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page


def published_video(media, tmp_path):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    return helpers.published_video(media.hd(20), "Resume me", tmp_path, uploader, approver)


def test_resume_on_another_device_and_favourite(browser, live_server, media, shot, tmp_path):
    video = published_video(media, tmp_path)
    viewer = UserFactory(username="vera", roles=[roles.VIEWER])
    url = f"{live_server.url}/videos/{video.uuid}/"

    # First device: watch to 60 %, pause (which saves).
    errors = []
    context, page = new_page(browser, errors)
    sign_in(page, live_server, "vera")
    page.goto(url)
    page.locator("[data-video]").evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 12", timeout=60_000)
    with page.expect_response(lambda r: "/progress/" in r.url and r.request.method == "PUT"):
        page.locator("[data-video]").evaluate("v => v.pause()")
    progress = WatchProgress.objects.get(user=viewer, video=video)
    assert 10 <= progress.position <= 18
    assert not progress.completed
    saved = progress.position
    assert errors == []
    context.close()

    # Second device: the page resumes where the first one stopped.
    errors = []
    context, page = new_page(browser, errors)
    sign_in(page, live_server, "vera")
    page.goto(url)
    notice = page.locator("[data-resume-notice]")
    notice.wait_for(state="visible", timeout=30_000)
    assert notice.inner_text().startswith("Resumed at 0:1")
    current = page.locator("[data-video]").evaluate("v => v.currentTime")
    assert abs(current - saved) <= 2

    # Favourite toggle: no reload, state from the server.
    button = page.locator("[data-favorite]")
    assert button.get_attribute("aria-pressed") == "false"
    assert button.text_content() == "\u2606 Favourite"
    page.evaluate("() => { window.__noReload = true; }")
    with page.expect_response(lambda r: "/favorite/" in r.url and r.request.method == "PUT"):
        button.click()
    page.wait_for_function("() => document.querySelector('[data-favorite]').getAttribute('aria-pressed') === 'true'")
    assert button.text_content() == "\u2605 Favourite"
    assert page.evaluate("() => window.__noReload") is True
    assert Favorite.objects.filter(user=viewer, video=video).exists()
    shot(page, "watch-resumed")
    assert errors == []
    context.close()

    # A third visit shows the favourite from the detail JSON.
    errors = []
    context, page = new_page(browser, errors)
    sign_in(page, live_server, "vera")
    page.goto(url)
    page.wait_for_function("() => document.querySelector('[data-favorite]').getAttribute('aria-pressed') === 'true'")
    assert errors == []
    context.close()
