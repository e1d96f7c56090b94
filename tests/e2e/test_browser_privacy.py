"""
Privacy in Chromium (issue #17 "Done when"): an approver reviews a flagged case on the review
page, sees the flagged stretch on the timeline, blurs it, marks another stretch by hand and keeps
it with a reason, applies the decisions (the redacted ladder is made by the real pipeline) and
publishes; a viewer then plays the published video and the frame on screen in the flagged
stretch shows no face.
"""

from pathlib import Path

import cv2
import numpy as np
import pytest

from accounts import roles
from privacy import classify
from privacy.models import PrivacyScan
from tests.e2e import helpers
from tests.e2e.helpers import sign_in
from tests.factories import TOTPDeviceFactory, UserFactory
from tests.privacy.conftest import build_face_case, faces_in
from tests.videos_helpers import local_playlist

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIDEO = "document.querySelector('[data-video]')"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def on_screen(page):
    """The player's picture as the browser paints it, as RGB."""
    png = page.locator("[data-video]").screenshot()
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def screenshots(browser, state, url, errors):
    """The review page with its privacy panel at 1280 and 360 px, light and dark, into docs/screenshots/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height, scheme in ((1280, 900, "light"), (1280, 900, "dark"), (360, 780, "light"), (360, 780, "dark")):
        context = browser.new_context(
            storage_state=state, viewport={"width": width, "height": height}, color_scheme=scheme
        )
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        panel = page.locator("[data-privacy-panel]")
        panel.scroll_into_view_if_needed()
        if width == 1280:
            page.screenshot(path=str(SHOTS / f"privacy-review-{width}-{scheme}.png"), full_page=True)
        else:
            panel.screenshot(path=str(SHOTS / f"privacy-review-{width}-{scheme}.png"))
        context.close()


def seek(page, seconds):
    page.locator("[data-video]").evaluate(f"v => {{ v.muted = true; v.currentTime = {seconds}; }}")
    page.wait_for_function(
        f"() => Math.abs({VIDEO}.currentTime - {seconds}) < 0.5 && {VIDEO}.readyState >= 2", timeout=60_000
    )
    page.wait_for_timeout(300)


def test_approver_blurs_keeps_applies_publishes_and_a_viewer_sees_it_redacted(
    browser, live_server, settings, shot, tmp_path
):
    settings.PRIVACY_SCAN = True
    uploader = UserFactory(username="uma", full_name="Uma Uploader", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", full_name="Ann Approver", roles=[roles.VIEWER, roles.APPROVER])
    UserFactory(username="vic", roles=[roles.VIEWER])
    device = TOTPDeviceFactory(user=approver)
    source = build_face_case(tmp_path / "source" / "face-case.mp4")
    video = helpers.processed_video(source, "Lap chole, port change", tmp_path, uploader)
    assert PrivacyScan.objects.get(video=video).status == "flagged"

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server, "appy", device)
    page.goto(f"{live_server.url}/videos/review/{video.uuid}/")
    panel = page.locator("[data-privacy-panel]")
    assert "1 undecided" in panel.locator("[data-privacy-badge]").inner_text()
    assert panel.locator("svg rect").count() == 1
    shot(page, "privacy-review-flagged")

    # Publishing is refused while the range is undecided: the page says which.
    page.get_by_role("button", name="Publish").click()
    page.wait_for_load_state("networkidle")
    assert "undecided privacy ranges 0:00:10–0:00:20" in page.locator("body").inner_text()

    # "Watch" seeks the player to the flagged stretch.
    panel.get_by_role("button", name="Watch").click()
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 10) < 0.5")

    face = panel.locator("[data-privacy-range]").first
    face.get_by_label("Decision").select_option("blur")
    face.get_by_role("button", name="Save decision").click()
    page.wait_for_load_state("networkidle")
    assert "0:00:10–0:00:20: blur." in page.locator("body").inner_text()

    panel = page.locator("[data-privacy-panel]")
    panel.get_by_label("From", exact=True).fill("0:00:02")
    panel.get_by_label("To", exact=True).fill("0:00:04")
    panel.get_by_role("button", name="Add range").click()
    page.wait_for_load_state("networkidle")
    hand = page.locator("[data-privacy-range]").first  # 0:00:02 comes first
    assert "marked by hand" in hand.inner_text()
    hand.get_by_label("Decision").select_option("keep")
    hand.get_by_role("button", name="Save decision").click()
    page.wait_for_load_state("networkidle")
    assert "Reason: Say why this stretch may be kept as it is." in page.locator("body").inner_text()
    hand = page.locator("[data-privacy-range]").first
    hand.get_by_label("Decision").select_option("keep")
    hand.get_by_label("Reason").fill("Only the drapes are in view")
    hand.get_by_role("button", name="Save decision").click()
    page.wait_for_load_state("networkidle")
    shot(page, "privacy-review-decided")
    screenshots(browser, context.storage_state(), f"{live_server.url}/videos/review/{video.uuid}/", errors)

    # Apply: the redacted recording and the new ladder are made (inline under tests).
    with page.expect_navigation(timeout=600_000):
        page.locator("[data-privacy-apply]").click(timeout=600_000)
    page.wait_for_load_state("networkidle", timeout=60_000)
    scan = PrivacyScan.objects.get(video=video)
    assert scan.status == "resolved", scan.failure_reason
    assert page.locator("[data-privacy-panel]").get_attribute("data-privacy-status") == "resolved"
    page.get_by_role("button", name="Publish").click()
    page.wait_for_load_state("networkidle")
    video.refresh_from_db()
    assert video.status == "published"
    context.close()

    # The published ladder holds no face in the blurred stretch (every rung) ...
    for rung in ("480p", "360p"):
        assert faces_in(local_playlist(video, rung), start=10, end=20) == 0

    # ... and the viewer's browser paints none: the redacted stream is what plays.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server, "vic")
    page.goto(f"{live_server.url}/videos/{video.uuid}/")
    page.wait_for_function(f"() => {VIDEO} && {VIDEO}.readyState >= 1", timeout=60_000)
    seek(page, 15)
    frame = on_screen(page)
    assert classify.faces(frame) == []
    assert frame.std() > 2  # a picture, not an empty box
    shot(page, "privacy-viewer-blurred")
    seek(page, 3)
    assert classify.colour_statistics(on_screen(page)) < 0.5  # tissue, as it was
    context.close()
    assert errors == []
