"""
Issue #15 in Chromium: on the edit page the owner picks a storyboard frame (keyboard, then the
form) as the poster and sees it change; on "My uploads" the owner of a rejected case replaces its
recording through the page (tus, progress, then the processing followed) with a generated clip.
Screenshots of the edit page's poster section at 1280 and 360 px go to docs/screenshots/.
"""

import hashlib
from pathlib import Path

import pytest

from accounts import roles
from tests.e2e.helpers import processed_video, sign_in
from tests.factories import UserFactory
from tests.media import clip
from videos import services
from videos.models import Video

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOADED = "(img) => img.complete && img.naturalWidth > 0"


def test_the_owner_picks_a_storyboard_frame_as_the_poster(browser, live_server, tmp_path):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    (tmp_path / "source").mkdir()
    source = clip(tmp_path / "source" / "six.mp4", seconds=6)  # a storyboard frame every 2 s
    video = processed_video(source, "Lap appendicectomy", tmp_path, uploader)
    poster = video.hls_dir / "poster.jpg"
    before = poster.read_bytes()
    SHOTS.mkdir(parents=True, exist_ok=True)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors, sprites = [], []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("response", lambda r: "storyboard.jpg" in r.url and sprites.append(r.status))
    sign_in(page, live_server, "uma")
    page.goto(f"{live_server.url}/videos/{video.uuid}/edit/")
    page.wait_for_load_state("networkidle")
    section = page.locator("#poster")
    assert section.locator("[data-current-poster]").evaluate(LOADED)
    old_src = section.locator("[data-current-poster]").get_attribute("src")
    frames = section.locator("[data-poster-frame]")
    assert frames.count() == 3
    assert sprites == [200]  # one sprite for every tile

    # Keyboard: into the radio group, then the arrow keys move the choice.
    frames.first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert frames.nth(2).is_checked()
    label = section.locator("label[for=poster-frame-3]")
    assert "peer-checked:ring-2" in label.get_attribute("class")
    assert label.evaluate("(el) => getComputedStyle(el).boxShadow") != "none"  # the ring shows the choice
    section.screenshot(path=str(SHOTS / "edit-poster-1280.png"))
    page.locator("#recording").screenshot(path=str(SHOTS / "edit-recording-1280.png"))

    section.get_by_role("button", name="Use as poster").click()
    page.wait_for_load_state("networkidle")
    assert "The poster is now the frame at 0:04." in page.locator("#toasts").inner_text()
    after = poster.read_bytes()
    assert after != before
    current = page.locator("#poster [data-current-poster]")
    assert current.evaluate(LOADED) and current.get_attribute("src") != old_src
    shown = current.evaluate(
        "(img) => fetch(img.src).then((r) => r.arrayBuffer()).then((b) => Array.from(new Uint8Array(b)))"
    )
    assert hashlib.md5(bytes(shown)).hexdigest() == hashlib.md5(after).hexdigest()  # the page shows the new one

    # A moment out of range, typed: the error names the field, nothing changes.
    page.locator("#id_poster-time").fill("9:00")
    section.get_by_role("button", name="Use as poster").click()
    assert page.locator("#id_poster-time").get_attribute("aria-invalid") == "true"
    assert "Choose a time between 0 and" in page.locator("#id_poster-time_errors").inner_text()
    assert poster.read_bytes() == after
    assert errors == []
    context.close()

    for scheme in ("light", "dark"):
        small = browser.new_context(viewport={"width": 360, "height": 780}, color_scheme=scheme)
        phone = small.new_page()
        sign_in(phone, live_server, "uma")
        phone.goto(f"{live_server.url}/videos/{video.uuid}/edit/#poster")
        phone.wait_for_load_state("networkidle")
        assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        phone.locator("#poster").screenshot(path=str(SHOTS / f"edit-poster-360-{scheme}.png"))
        small.close()


def test_the_owner_replaces_a_rejected_recording_from_my_uploads(browser, live_server, media, tmp_path):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    video = processed_video(media.mp4(), "Wrong file", tmp_path, uploader)
    services.video_reject(user=approver, video=video, reason="This is not the actual recording.")
    new_file = media.other_mp4()  # 320×240, 1.5 s

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    sign_in(page, live_server, "uma")
    page.goto(f"{live_server.url}/videos/mine/")
    row = page.locator("[data-video-row]").filter(has_text="Wrong file")
    row.get_by_text("Replace recording").click()
    box = row.locator("[data-replace]")
    # Keep every status the page announces, to see the processing shown after the upload.
    box.locator("[data-replace-status]").evaluate(
        "(el) => { window.statuses = []; new MutationObserver(() => window.statuses.push(el.textContent))"
        ".observe(el, { childList: true, characterData: true, subtree: true }); }"
    )
    box.get_by_role("button", name="Upload and replace").click()
    assert box.locator("[data-replace-error]").inner_text() == "New recording: choose the file to upload."
    box.get_by_label("New recording", exact=True).set_input_files(str(new_file))
    box.get_by_role("button", name="Upload and replace").click()
    page.wait_for_function(
        "() => (window.statuses || []).some((s) => s.startsWith('The new recording is processed'))", timeout=60_000
    )
    statuses = page.evaluate("() => window.statuses")
    processing = next(i for i, s in enumerate(statuses) if "being processed" in s)
    assert statuses[processing].startswith("Uploaded. The new recording is being processed")
    assert processing < statuses.index(next(s for s in statuses if s.startswith("The new recording is processed")))
    assert box.locator("[data-replace-progress]").get_attribute("data-state") == "done"
    assert box.locator("[data-replace-error]").is_hidden()
    page.screenshot(path=str(SHOTS / "mine-replace-1280.png"), full_page=False)

    assert Video.objects.count() == 1
    video.refresh_from_db()
    assert video.md5 == hashlib.md5(new_file.read_bytes()).hexdigest()
    assert (video.width, video.height, video.status) == (320, 240, "rejected")
    assert list(video.renditions.values_list("name", flat=True)) == ["240p"]
    assert errors == []
    context.close()
