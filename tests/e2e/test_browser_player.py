"""
The player issue's done-when, in Chromium: a viewer plays a video with the media-chrome player
(hls.js underneath) and uses every control a surgeon studying technique needs — the quality
menu (the rung names), speed and slow motion, frame step, an A–B loop, full screen that keeps
the controls, the storyboard thumbnail over the seek bar, "copy link at the current time", the
shortcut help, theatre mode — then resumes on another device. No console error and no CSP
violation anywhere (the controls' shadow-DOM styles pass through the page's nonce). Last, the
watch page at 1280 and 360 px, light and dark, into docs/screenshots/.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts import roles
from library.models import ViewEvent, WatchProgress
from tests.e2e import helpers
from tests.e2e.helpers import sign_in
from tests.factories import UserFactory
from videos.models import Video

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIDEO = "document.querySelector('[data-video]')"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FPS = 25  # tests/media.py's hd() clips

# Collected in the page from the first script on: CSP refusals do not always reach the console.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " + (event.sample || ""));
});
"""


def new_page(browser, errors, **options):
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page


def no_csp_violation(page):
    assert page.evaluate("() => window.__csp") == []


def now(page) -> float:
    return page.evaluate(f"() => {VIDEO}.currentTime")


def wait_ready(page):
    """The ladder is parsed (hls.js levels known) and the first frame is there."""
    page.wait_for_function(
        f"() => {VIDEO}.api && {VIDEO}.api.levels.length > 0 && {VIDEO}.readyState >= 2", timeout=30_000
    )


def seek(page, seconds):
    page.evaluate(f"(t) => {{ {VIDEO}.currentTime = t; }}", seconds)
    page.wait_for_function(f"(t) => Math.abs({VIDEO}.currentTime - t) < 0.05 && !{VIDEO}.seeking", arg=seconds)


def open_settings(page, entry):
    page.locator("media-settings-menu-button").click()
    page.get_by_role("menuitem", name=entry).click()


def toast(page) -> str:
    return page.locator("[data-player-toast]").inner_text()


@pytest.fixture
def video(media, tmp_path):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    return helpers.published_video(
        media.hd(20), "Laparoscopic cholecystectomy, critical view", tmp_path, uploader, approver
    )


def test_study_a_video_with_the_player(browser, live_server, video, shot):
    viewer = UserFactory(username="vera", roles=[roles.VIEWER], default_quality="480p", default_speed="1.25")
    url = f"{live_server.url}/videos/{video.uuid}/"
    errors = []
    context, page = new_page(browser, errors, permissions=["clipboard-read", "clipboard-write"])
    sign_in(page, live_server, "vera")

    # Opening the page is not watching: no view until playback starts.
    page.goto(url)
    wait_ready(page)
    assert not ViewEvent.objects.filter(video=video).exists()
    # The viewer's preferences: 480p and 1.25× from the start.
    page.wait_for_function(
        f"() => {VIDEO}.api.levels[{VIDEO}.api.nextLevel]?.height === 480 || {VIDEO}.api.levels[{VIDEO}.api.currentLevel]?.height === 480"
    )
    page.wait_for_function(f"() => {VIDEO}.playbackRate === 1.25")
    with page.expect_response(lambda r: r.url.endswith("/views/") and r.request.method == "POST") as viewed:
        page.locator("[data-video]").evaluate("v => { v.muted = true; return v.play(); }")
    assert viewed.value.ok
    page.wait_for_function(f"() => {VIDEO}.currentTime > 1", timeout=30_000)
    assert ViewEvent.objects.filter(video=video, user=viewer).count() == 1

    # Quality by the settings menu, labelled with the ladder's rung names.
    open_settings(page, "Quality")
    qualities = page.get_by_role("menuitemradio")
    texts = [text.strip() for text in qualities.all_inner_texts()]
    assert {"720p", "480p", "360p"} <= set(texts), texts
    assert any(text.startswith("Auto") for text in texts), texts
    page.get_by_role("menuitemradio", name="360p").click()
    page.wait_for_function(f"() => {VIDEO}.api.levels[{VIDEO}.api.currentLevel]?.height === 360", timeout=30_000)
    start = now(page)
    page.wait_for_function(f"(t) => {VIDEO}.currentTime > t + 0.5", arg=start, timeout=30_000)  # still playing
    page.keyboard.press("Escape")

    # Speed by the settings menu, then slow-motion presets (S) and back to that speed.
    open_settings(page, "Speed")
    page.get_by_role("menuitemradio", name="2x").click()
    page.wait_for_function(f"() => {VIDEO}.playbackRate === 2")
    page.keyboard.press("Escape")
    page.locator("main h1").click()  # focus back on the page, as a viewer would
    page.keyboard.press("s")
    page.wait_for_function(f"() => {VIDEO}.playbackRate === 0.5")
    assert toast(page) == "Slow motion 0.5×"
    page.keyboard.press("s")
    page.wait_for_function(f"() => {VIDEO}.playbackRate === 0.25")
    expect(page.locator("[data-slow-label]")).to_have_text("0.25×")  # redrawn on ratechange
    page.keyboard.press("s")
    page.wait_for_function(f"() => {VIDEO}.playbackRate === 2")
    page.keyboard.press("<")
    page.keyboard.press("<")
    page.keyboard.press("<")
    page.keyboard.press("<")
    page.wait_for_function(f"() => {VIDEO}.playbackRate === 1")

    # Frame step: "." and "," pause and move exactly one frame (25 fps here).
    seek(page, 5.0)
    page.keyboard.press(".")
    page.wait_for_function(f"() => {VIDEO}.paused && !{VIDEO}.seeking")
    first = now(page)
    frame = int(first * FPS)
    page.keyboard.press(".")
    page.wait_for_function(f"(f) => Math.floor({VIDEO}.currentTime * {FPS}) === f + 1 && !{VIDEO}.seeking", arg=frame)
    assert toast(page).startswith(f"Frame {frame + 2} · 0:05.")
    page.keyboard.press(",")
    page.keyboard.press(",")
    page.wait_for_function(f"(f) => Math.floor({VIDEO}.currentTime * {FPS}) === f - 1 && !{VIDEO}.seeking", arg=frame)
    page.get_by_role("button", name="Next frame").click()
    page.wait_for_function(f"(f) => Math.floor({VIDEO}.currentTime * {FPS}) === f && !{VIDEO}.seeking", arg=frame)
    assert page.evaluate(f"() => {VIDEO}.paused")

    # A–B loop: A at 2 s, B at 4 s; playback jumps back from B to A, again and again.
    seek(page, 2.0)
    page.keyboard.press("a")
    seek(page, 4.0)
    page.keyboard.press("a")
    loop = page.locator("[data-loop]")
    assert loop.get_attribute("data-state") == "loop"
    assert loop.inner_text() == "0:02\u20130:04"
    assert loop.get_attribute("aria-label") == "Stop looping 0:02 to 0:04"
    page.evaluate(
        f"""() => {{
          window.__loops = 0;
          let last = {VIDEO}.currentTime;
          {VIDEO}.addEventListener("timeupdate", () => {{
            const t = {VIDEO}.currentTime;
            if (last > 3.7 && t < 2.4) window.__loops += 1;
            last = t;
          }});
        }}"""
    )
    page.keyboard.press("k")
    page.wait_for_function("() => window.__loops >= 2", timeout=20_000)
    assert 1.9 <= now(page) <= 4.3
    page.keyboard.press("a")
    assert loop.inner_text() == "A\u2013B"
    page.keyboard.press("k")
    page.wait_for_function(f"() => {VIDEO}.paused")

    # The storyboard thumbnail over the seek bar, on hover.
    bar = page.locator("media-time-range").bounding_box()
    page.mouse.move(bar["x"] + bar["width"] * 0.6, bar["y"] + bar["height"] / 2)
    thumbnail = page.locator("media-preview-thumbnail img")
    page.wait_for_function(
        """() => {
          const range = document.querySelector("media-time-range");
          const img = range.shadowRoot.querySelector("media-preview-thumbnail").shadowRoot.querySelector("img");
          return img.src.includes("storyboard.jpg") && img.complete && img.naturalWidth > 0
            && getComputedStyle(img).display === "block";
        }"""
    )
    thumbnail.wait_for(state="visible")
    shot(page, "player-storyboard-hover")

    # Copy the link at the current time; it opens the video there (a ?t= link wins over resume).
    seek(page, 7.4)
    page.get_by_role("button", name="Copy link at the current time").click()
    page.locator("[data-player-toast]").filter(has_text="Link to 0:07 copied").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == f"{live_server.url}/videos/{video.uuid}/?t=7"

    # Full screen keeps every control of the bar, including the study tools.
    page.get_by_role("button", name="enter fullscreen mode").click()
    page.wait_for_function("() => document.fullscreenElement?.matches('media-controller')")
    page.mouse.move(300, 300)
    # (media-chrome's own labels are lower case.)
    for name in (
        "play",
        "Previous frame",
        "Next frame",
        "Copy link at the current time",
        "settings",
        "exit fullscreen mode",
    ):
        control = page.get_by_role("button", name=name, exact=True)
        assert control.is_visible(), name
        assert page.evaluate("(el) => document.fullscreenElement.contains(el)", control.element_handle()), name
    assert page.locator("media-time-range").is_visible()
    open_settings(page, "Quality")  # the menu works in full screen too
    assert page.get_by_role("menuitemradio", name="720p").is_visible()
    shot(page, "player-fullscreen")
    page.locator("media-settings-menu-button").click()  # closes it (Esc would also leave full screen)
    page.get_by_role("button", name="exit fullscreen mode").click()
    page.wait_for_function("() => !document.fullscreenElement")

    # Theatre mode: the player spans the window; remembered on this device.
    page.locator("main h1").click()
    page.keyboard.press("t")
    page.wait_for_function("() => document.querySelector('#watch-app').hasAttribute('data-theatre')")
    width = page.evaluate("() => document.querySelector('media-controller').getBoundingClientRect().width")
    assert width == page.evaluate("() => document.documentElement.clientWidth")
    shot(page, "player-theatre")
    page.get_by_role("button", name="Theatre mode").click()
    assert not page.evaluate("() => document.querySelector('#watch-app').hasAttribute('data-theatre')")

    # ? opens the shortcut list, a real modal dialog; Esc closes it.
    page.keyboard.press("Shift+?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    dialog.wait_for()
    shot(page, "player-help")
    assert page.evaluate("() => document.querySelector('[data-help]').matches(':modal')")
    assert "Previous or next frame" in dialog.inner_text()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # The copied link, opened: starts at 7 s.
    page.goto(copied)
    page.wait_for_function(f"() => {VIDEO}.readyState >= 1 && Math.abs({VIDEO}.currentTime - 7) < 0.5", timeout=30_000)
    assert page.locator("[data-resume-notice]").is_hidden()

    # Watch on to ~12 s and pause: the position is saved.
    page.locator("[data-video]").evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 12", timeout=30_000)
    with page.expect_response(lambda r: "/progress/" in r.url and r.request.method == "PUT"):
        page.locator("[data-video]").evaluate("v => v.pause()")
    saved = WatchProgress.objects.get(user=viewer, video=video).position
    assert 12 <= saved <= 16
    no_csp_violation(page)
    page.goto("about:blank")
    assert errors == []
    context.close()

    # Another device resumes there; "Start over" goes back to 0 and saves it.
    errors = []
    context, page = new_page(browser, errors)
    sign_in(page, live_server, "vera")
    page.goto(url)
    notice = page.locator("[data-resume-notice]")
    notice.wait_for(state="visible", timeout=30_000)
    assert notice.inner_text().startswith("Resumed at 0:1")
    assert abs(now(page) - saved) <= 1
    with page.expect_response(lambda r: "/progress/" in r.url and r.request.method == "PUT"):
        page.get_by_role("button", name="Start over").click()
    assert notice.is_hidden()
    assert now(page) < 0.5
    assert WatchProgress.objects.get(user=viewer, video=video).position == 0
    no_csp_violation(page)
    page.goto("about:blank")
    assert errors == []
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_watch_page_screenshots(browser, live_server, video, scheme):
    """The watch page at 1280 and 360 px: the controls fit (the study tools move to a top bar
    on a phone), every control is a comfortable touch target, nothing scrolls sideways."""
    UserFactory(username="vera", roles=[roles.VIEWER])
    SHOTS.mkdir(parents=True, exist_ok=True)
    # 1280: the whole bar; 900: beside nothing, 836 px of player; 360: a phone. The playlist and
    # review pages put the player in two thirds of the width (test_browser_playlists, _review).
    for width, height in ((1280, 800), (900, 800), (360, 780)):
        errors = []
        context, page = new_page(browser, errors, viewport={"width": width, "height": height}, color_scheme=scheme)
        sign_in(page, live_server, "vera")
        page.goto(f"{live_server.url}/videos/{video.uuid}/?t=6")
        wait_ready(page)
        page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 6) < 0.5 && !{VIDEO}.seeking")
        page.evaluate("() => document.fonts.ready")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), width
        player = page.locator("media-controller").bounding_box()
        controls = page.locator("media-controller [role=button]:visible, media-controller button:visible")
        assert controls.count() >= 8
        for box in (controls.nth(i).bounding_box() for i in range(controls.count())):
            assert box["width"] >= 40 and box["height"] >= 40, box  # touch targets
            # Inside the picture: nothing wrapped below its edge or pushed off its side.
            assert player["x"] - 1 <= box["x"] and box["x"] + box["width"] <= player["x"] + player["width"] + 1, box
            assert player["y"] - 1 <= box["y"] and box["y"] + box["height"] <= player["y"] + player["height"] + 1, box
        for name in (
            "play",
            "seek back 10 seconds",
            "settings",
            "enter fullscreen mode",
            "Previous frame",
            "Next frame",
        ):
            assert page.get_by_role("button", name=name, exact=True).is_visible(), (width, name)
        tools = page.locator(".player-tools")
        assert tools.evaluate("(el) => el.parentElement.matches('[data-topbar]')") is (player["width"] < 960)
        if width == 900:
            continue
        page.mouse.move(10, 10)
        page.screenshot(path=str(SHOTS / f"watch-{width}-{scheme}.png"))
        no_csp_violation(page)
        page.goto("about:blank")
        assert errors == []
        context.close()


def test_processing_page_follows_the_job(browser, live_server, video):
    """A video still processing shows the progress panel, which follows the job and becomes the
    player by itself when the video is ready."""
    owner = video.uploader
    ready = video.ready_seconds
    # Processing, and not even the first chunk is in yet.
    Video.objects.filter(pk=video.pk).update(status=Video.Status.PROCESSING, progress=40, ready_seconds=0)
    errors = []
    context, page = new_page(browser, errors)
    sign_in(page, live_server, owner.username)
    page.goto(f"{live_server.url}/videos/{video.uuid}/")
    panel = page.locator("[data-processing]")
    assert panel.locator("[data-progress-text]").inner_text() == "40%"
    assert page.locator("media-controller").count() == 0
    Video.objects.filter(pk=video.pk).update(progress=85)
    panel.locator("[data-progress-text]").filter(has_text="85%").wait_for(timeout=10_000)
    Video.objects.filter(pk=video.pk).update(status=Video.Status.PUBLISHED, progress=100, ready_seconds=ready)
    page.locator("media-controller").wait_for(timeout=15_000)  # reloaded with the player
    wait_ready(page)
    no_csp_violation(page)
    page.goto("about:blank")
    assert errors == []
    context.close()
