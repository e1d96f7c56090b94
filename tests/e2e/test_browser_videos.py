"""Done-when of the ingest issue, in Chromium: an uploader uploads through the page and sees
the progress; after publishing, a viewer watches the ladder with hls.js."""

import pytest

from accounts import roles
from tests.e2e.helpers import sign_in
from tests.factories import UserFactory
from videos import services
from videos.models import Video

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_upload_in_the_browser_then_a_viewer_watches_it(browser, live_server, media, shot, settings):
    # The upload page here fills title and tags only; the details an approver needs before
    # publishing (PUBLISH_REQUIRED_FIELDS) are tested in tests/videos/test_publish_gate.py.
    settings.PUBLISH_REQUIRED_FIELDS = []
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    UserFactory(username="vera", roles=[roles.VIEWER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    sign_in(page, live_server, "uma")
    page.goto(f"{live_server.url}/videos/upload/")
    page.locator("[data-file-input]").set_input_files(str(media.hd(6)))
    item = page.locator("[data-item]").first
    item.locator("input[name=title]").fill("Laparoscopic cholecystectomy — teaching cut")
    item.locator("[data-save]").click()
    # The transfer finishes, the details are saved, and processing reaches "Awaiting review".
    item.locator("[data-processing-status]").filter(has_text="Awaiting review").wait_for(timeout=120_000)
    shot(page, "upload-done")
    video = Video.objects.get(uploader=uploader)
    assert video.title == "Laparoscopic cholecystectomy — teaching cut"
    assert video.status == "processed"
    assert list(video.renditions.values_list("name", flat=True)) == ["720p", "480p", "360p"]
    assert errors == []
    context.close()

    services.video_publish(user=approver, video=video)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    sign_in(page, live_server, "vera")
    page.goto(f"{live_server.url}/videos/{video.uuid}/?t=2")
    player = page.locator("[data-video]")
    player.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('[data-video]').currentTime > 2.5", timeout=30_000)
    # The quality menu (settings → Quality) names the rungs, highest first, then Auto (selected).
    page.locator("media-settings-menu-button").click()
    page.get_by_role("menuitem", name="Quality").click()
    options = [text.strip() for text in page.get_by_role("menuitemradio").all_inner_texts()]
    assert options[:3] == ["720p", "480p", "360p"]
    assert options[-1].startswith("Auto")
    assert page.get_by_role("menuitemradio", checked=True).inner_text().strip().startswith("Auto")
    page.get_by_role("menuitemradio", name="360p", exact=True).click()
    page.wait_for_function("() => document.querySelector('[data-video]').currentTime > 3.5", timeout=30_000)
    shot(page, "watch-playing")
    assert errors == []
    context.close()
