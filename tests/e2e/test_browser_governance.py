"""
Governance (issue #17) in Chromium: consent chosen on the upload page is recorded once the
details are saved (a refusal shows next to its field); an approver sets a legal hold on the
review page; an Admin opens the access review. Screenshots into docs/screenshots/.
"""

from pathlib import Path

import pytest

from accounts import roles
from governance.models import Consent, LegalHold
from tests.e2e.helpers import processed_video, sign_in
from tests.factories import TOTPDeviceFactory, UserFactory
from videos.models import Video

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def new_page(browser, errors, **options):
    context = browser.new_context(**options)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page


def test_consent_on_the_upload_page(browser, live_server, media, settings):
    settings.CONSENT_REQUIRED = True
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors = []
    context, page = new_page(browser, errors, viewport={"width": 1280, "height": 900}, color_scheme="light")
    sign_in(page, live_server, "uma")
    page.goto(f"{live_server.url}/videos/upload/")
    page.locator("[data-file-input]").set_input_files(str(media.mp4()))
    item = page.locator("[data-item]").first
    item.get_by_label("Status").select_option("obtained")  # no purpose: the API refuses
    item.locator("[data-save]").click()
    error = item.locator('[data-error-for="consent_purpose"]')
    error.wait_for(state="visible", timeout=60_000)
    assert "Say what the consent covers" in error.inner_text()
    assert not Consent.objects.exists()
    item.get_by_label("Purpose").select_option("teaching")
    item.locator("[data-save]").click()
    item.locator("[data-consent-note]").filter(has_text="Consent recorded.").wait_for(timeout=30_000)
    consent = Consent.objects.get(video__uploader=uploader)
    assert (consent.status, consent.purpose, consent.set_by) == ("obtained", "teaching", uploader)
    page.screenshot(path=str(SHOTS / "upload-consent-1280-light.png"), full_page=True)
    # The refused PUT is the browser's one logged error.
    assert errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    errors.clear()
    context.close()

    for width, height, scheme in ((360, 780, "dark"), (360, 780, "light"), (1280, 900, "dark")):
        context, page = new_page(browser, errors, viewport={"width": width, "height": height}, color_scheme=scheme)
        sign_in(page, live_server, "uma")
        page.goto(f"{live_server.url}/videos/upload/")
        page.locator("[data-file-input]").set_input_files(str(media.mp4()))
        page.locator("[data-consent-endpoint]").first.wait_for()
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), width
        page.locator("[data-consent-endpoint]").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"upload-consent-{width}-{scheme}.png"))
        context.close()
    assert errors == []


def test_legal_hold_on_the_review_page_and_the_access_review(browser, live_server, media, tmp_path):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    admin = UserFactory(username="ada", roles=roles.ROLES, is_staff=True)
    video = processed_video(media.mp4(), "Lap chole", tmp_path, uploader)
    errors = []
    for width, height, scheme in ((1280, 900, "light"), (360, 780, "dark")):
        context, page = new_page(browser, errors, viewport={"width": width, "height": height}, color_scheme=scheme)
        sign_in(page, live_server, "appy", device=TOTPDeviceFactory(user=approver))
        page.goto(f"{live_server.url}/videos/review/{video.uuid}/")
        panel = page.locator("[data-governance-panel]")
        if width == 1280:
            panel.get_by_label("Reason").fill("Inquiry 2026/14")
            panel.get_by_role("button", name="Put on legal hold").click()
            page.get_by_text("Legal hold set: nothing can delete this video until it is released.").wait_for()
            assert LegalHold.objects.get(video=video).set_by == approver
        panel = page.locator("[data-governance-panel]")
        assert panel.locator("[data-hold-status]").inner_text().strip() == "On hold"
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), width
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"review-governance-{width}-{scheme}.png"))
        context.close()

    context, page = new_page(browser, errors, viewport={"width": 1280, "height": 900}, color_scheme="light")
    sign_in(page, live_server, "ada", device=TOTPDeviceFactory(user=admin))
    page.goto(f"{live_server.url}/admin/dashboard/")
    page.get_by_role("link", name="Access review: confirm or revoke roles").click()
    page.get_by_role("button", name="Confirm the roles of uma").click()
    page.get_by_text("Roles of uma confirmed.").wait_for()
    page.screenshot(path=str(SHOTS / "access-review-1280-light.png"), full_page=True)
    context.close()
    assert errors == []
    assert Video.objects.filter(pk=video.pk).exists()
