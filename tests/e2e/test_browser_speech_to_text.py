"""
Speech-to-text draft captions (issue #16) in Chromium: with a transcriber configured (the test
plug, which reads the WAV FFmpeg extracted), a processed case has an "English (automatic,
draft)" track in the player's Captions menu, and an editor's panel flags it "Automatic — needs
checking" with a download link. Screenshots at 1280 (light) and 360 (dark) into docs/screenshots/.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts import roles
from teaching import speech
from teaching.models import Caption
from tests.e2e import helpers
from tests.e2e.helpers import sign_in
from tests.factories import TOTPDeviceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIDEO = "document.querySelector('[data-video]')"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def drafted(media, tmp_path, settings):
    settings.CAPTIONS_TRANSCRIBER = "tests.teaching.stt_plug:transcribe"
    settings.CAPTIONS_STT_MODEL_DIR = ""
    speech._load.cache_clear()
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    video = helpers.processed_video(media.hd(6), "Lap chole, automatic captions", tmp_path, uploader)
    assert Caption.objects.get(video=video).machine_made
    yield video
    speech._load.cache_clear()


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (360, "dark")])
def test_an_editor_sees_the_draft_flagged_and_in_the_captions_menu(browser, live_server, drafted, width, scheme):
    editor = UserFactory(username="ed", roles=[roles.VIEWER, roles.EDITOR])
    device = TOTPDeviceFactory(user=editor)
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server, "ed", device)
    page.goto(f"{live_server.url}/videos/{drafted.uuid}/")
    page.wait_for_function(f"() => {VIDEO}.api && {VIDEO}.readyState >= 2", timeout=30_000)

    panel = page.locator("[data-caption-upload]")
    expect(panel).to_have_attribute("open", "")
    draft = panel.locator("[data-caption-draft]")
    expect(draft).to_contain_text("English (automatic, draft)")
    expect(draft.locator(".badge")).to_have_text("Automatic — needs checking")
    expect(draft.get_by_role("link", name="Download English (automatic, draft)")).to_have_count(1)
    expect(panel.locator("[data-transcription]")).to_contain_text("upload it in the same language")
    expect(page.locator("[data-transcript-list] [data-cue]").first).to_contain_text("The cystic artery is clipped.")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    page.locator("media-settings-menu-button").click()
    page.get_by_role("menuitem", name="Captions").click()
    expect(page.get_by_role("menuitemradio", name="English (automatic, draft)")).to_have_count(1)
    page.keyboard.press("Escape")

    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(SHOTS / f"captions-draft-{width}-{scheme}.png"))
    context.close()
    assert errors == []
