"""
Player polish (issues #15 and #16), in Chromium:

- captions never sit on the controls: while the control bar shows, the caption box's bottom is
  above the bar's top; when the bars hide the caption drops back to the bottom of the picture —
  at 1280 and 360 px, light and dark. The caption box is the browser's own (the <video>'s
  user-agent shadow DOM, read through the DevTools protocol, which pierces it);
- "Up next": when a video ends a countdown appears over the picture and is announced; Cancel
  (or Esc) stops it; left alone it opens the next video's page, which plays; the "Autoplay next"
  switch turns it off on this device.
Screenshots into docs/screenshots/.
"""

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from accounts import roles
from teaching import services as teaching_services
from tests.e2e import helpers
from tests.e2e.helpers import VIDEO, new_page, seek, sign_in, wait_ready
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CONTROLLER = "document.querySelector('[data-controller]')"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VTT = b"""WEBVTT

00:00:00.000 --> 00:00:09.000
Ports are placed under vision.

00:00:10.000 --> 00:00:16.000
Dissection of the triangle starts,
close to the cystic duct.
"""


# ------------------------------------------------------------------------- captions
def _attributes(node) -> dict:
    values = node.get("attributes") or []
    return dict(zip(values[::2], values[1::2], strict=True))


def _nodes(node, wanted, found):
    if wanted(_attributes(node)):
        found.append(node)
    for key in ("children", "shadowRoots"):
        for child in node.get(key) or []:
            _nodes(child, wanted, found)
    return found


def _box(cdp, node) -> dict:
    quad = cdp.send("DOM.getBoxModel", {"nodeId": node["nodeId"]})["model"]["border"]
    return {"top": quad[1], "bottom": quad[5], "left": quad[0], "right": quad[2]}


def layout(cdp) -> dict:
    """
    The boxes that matter, all from one snapshot of the DOM in the same coordinates: the
    caption boxes (Chromium's ``-webkit-media-text-track-display``, in the video's user-agent
    shadow root), the <video> element, and the top of the bottom controls (the seek bar's bar).
    """
    root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    cues = _nodes(root, lambda a: a.get("pseudo") == "-webkit-media-text-track-display", [])
    seek_bar = _nodes(root, lambda a: "player-seek" in a.get("class", "").split(), [])
    media = _nodes(root, lambda a: "data-video" in a, [])
    return {
        "cues": [_box(cdp, node) for node in cues],
        "controls_top": _box(cdp, seek_bar[0])["top"],
        "video": _box(cdp, media[0]),
    }


def wait_layout(cdp, condition, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            boxes = layout(cdp)
        except PlaywrightError:  # the cue was redrawn between the snapshot and the box: look again
            boxes = {"cues": []}
        if boxes["cues"] and condition(boxes):
            return boxes
        if time.monotonic() > deadline:
            raise AssertionError(f"caption layout never met the condition: {boxes}")
        time.sleep(0.1)


def above_controls(boxes) -> bool:
    return all(cue["bottom"] <= boxes["controls_top"] for cue in boxes["cues"])


def at_the_bottom(boxes) -> bool:
    return all(cue["bottom"] > boxes["controls_top"] for cue in boxes["cues"])


def controls_shown(page) -> bool:
    return page.evaluate(
        f"() => !{CONTROLLER}.hasAttribute('userinactive') || {CONTROLLER}.hasAttribute('mediapaused')"
    )


@pytest.fixture
def captioned(media, tmp_path):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    video = helpers.published_video(media.hd(20), "Lap chole, captions", tmp_path, uploader, approver)
    teaching_services.caption_add(user=uploader, video=video, data=VTT, language="en", label="English")
    return video


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (1280, "dark"), (360, "light"), (360, "dark")])
def test_captions_stay_above_the_controls_while_they_show(browser, live_server, captioned, width, scheme):
    UserFactory(username="vera", roles=[roles.VIEWER])
    errors = []
    context, page = new_page(browser, errors, viewport={"width": width, "height": 800}, color_scheme=scheme)
    cdp = context.new_cdp_session(page)
    sign_in(page, live_server, "vera")
    page.goto(f"{live_server.url}/videos/{captioned.uuid}/")
    wait_ready(page)

    # Captions on by the player's own key; paused at a one-line cue, the controls show.
    page.locator("main h1").click()
    page.keyboard.press("c")
    page.wait_for_function(
        f"() => Array.from({VIDEO}.textTracks).some(t => t.kind === 'captions' && t.mode === 'showing')"
    )
    seek(page, 2.0)
    assert controls_shown(page)
    boxes = wait_layout(cdp, above_controls)
    assert len(boxes["cues"]) == 1
    cue = boxes["cues"][0]
    assert cue["bottom"] <= boxes["controls_top"], boxes
    assert cue["top"] >= boxes["video"]["top"], boxes  # still on the picture
    # No further up than needed: less than two caption lines' worth of gap.
    assert boxes["controls_top"] - cue["bottom"] < 2 * (cue["bottom"] - cue["top"]), boxes
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("[data-player]").screenshot(path=str(SHOTS / f"player-captions-{width}-{scheme}.png"))

    # Playing with the pointer away, the controls hide and the caption comes back down.
    page.mouse.move(1, 790)
    page.evaluate(f"() => {{ {VIDEO}.muted = true; return {VIDEO}.play(); }}")
    page.wait_for_function(f"() => {CONTROLLER}.hasAttribute('userinactive') && !{VIDEO}.paused", timeout=10_000)
    boxes = wait_layout(cdp, at_the_bottom)
    cue = boxes["cues"][0]
    assert boxes["video"]["bottom"] - cue["bottom"] < 2, boxes  # at the picture's bottom edge

    # The pointer over the player brings the controls back, and the caption goes up again.
    player = page.locator("[data-controller]").bounding_box()
    page.mouse.move(player["x"] + player["width"] / 2, player["y"] + player["height"] / 3)
    page.wait_for_function(f"() => !{CONTROLLER}.hasAttribute('userinactive')")
    wait_layout(cdp, above_controls)
    page.evaluate(f"() => {VIDEO}.pause()")

    # A two-line cue clears them too.
    seek(page, 11.0)
    boxes = wait_layout(
        cdp, lambda b: above_controls(b) and b["cues"][0]["bottom"] - b["cues"][0]["top"] > 1.5 * cue_height(cue)
    )
    assert above_controls(boxes), boxes
    page.locator("[data-player]").screenshot(path=str(SHOTS / f"player-captions-two-lines-{width}-{scheme}.png"))

    assert page.evaluate("() => window.__csp") == []
    context.close()
    assert errors == []


def cue_height(cue) -> float:
    return cue["bottom"] - cue["top"]


# -------------------------------------------------------------------------- up next
@pytest.fixture
def two_cases(media, tmp_path):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    # Same category (factories' publishable metadata): each is the other's Up next.
    first = helpers.published_video(media.mp4(), "Hernia repair, short", tmp_path, uploader, approver)
    second = helpers.published_video(media.other_mp4(), "Appendicectomy, next case", tmp_path, uploader, approver)
    return first, second


def play_to_the_end(page):
    page.evaluate(f"() => {{ {VIDEO}.muted = true; {VIDEO}.currentTime = Math.max(0, {VIDEO}.duration - 0.4); }}")
    page.wait_for_function(f"() => !{VIDEO}.seeking")
    page.evaluate(f"() => {VIDEO}.play()")
    page.wait_for_function(f"() => {VIDEO}.ended", timeout=10_000)


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (360, "dark")])
def test_up_next_counts_down_when_a_video_ends(browser, live_server, two_cases, width, scheme):
    first, second = two_cases
    UserFactory(username="vera", roles=[roles.VIEWER])
    errors = []
    context, page = new_page(browser, errors, viewport={"width": width, "height": 800}, color_scheme=scheme)
    sign_in(page, live_server, "vera")
    page.goto(f"{live_server.url}/videos/{first.uuid}/")
    wait_ready(page)
    toggle = page.get_by_label("Autoplay next")
    expect(toggle).to_be_checked()  # on by default (the account's "autoplay next" is)
    page.locator("[data-up-next]").screenshot(path=str(SHOTS / f"watch-up-next-{width}-{scheme}.png"))
    countdown = page.locator("[data-next-countdown]")
    expect(countdown).to_be_hidden()

    # The video ends: the countdown shows over the picture, and is announced once.
    play_to_the_end(page)
    expect(countdown).to_be_visible()
    expect(countdown.locator("#player-next-text")).to_have_text(
        re.compile(r"^Next: Appendicectomy, next case in [5-8]\u00a0s$")
    )
    expect(page.locator("[data-player-live]")).to_have_text(
        "Next: Appendicectomy, next case, in 8 seconds. Press Escape or Cancel to stay."
    )
    expect(countdown.get_by_role("button", name="Play now")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    page.locator("[data-player]").screenshot(path=str(SHOTS / f"player-up-next-{width}-{scheme}.png"))

    # Cancel (a real click on the button, then the keyboard on a second ending): it stops.
    countdown.get_by_role("button", name="Cancel").click()
    expect(countdown).to_be_hidden()
    expect(page.locator("[data-player-live]")).to_have_text(
        "Autoplay cancelled. Appendicectomy, next case stays in Up next."
    )
    page.wait_for_timeout(9_000)  # longer than the countdown
    assert page.url == f"{live_server.url}/videos/{first.uuid}/"

    play_to_the_end(page)
    expect(countdown).to_be_visible()
    cancel = countdown.get_by_role("button", name="Cancel")
    cancel.focus()
    page.keyboard.press("Enter")  # keyboard: the buttons are ordinary, focusable buttons
    expect(countdown).to_be_hidden()
    play_to_the_end(page)
    expect(countdown).to_be_visible()
    page.keyboard.press("Escape")
    expect(countdown).to_be_hidden()

    # Left alone, it opens the next video's page, which plays by itself (and drops ?autoplay).
    play_to_the_end(page)
    expect(countdown).to_be_visible()
    page.wait_for_url(f"{live_server.url}/videos/{second.uuid}/**", timeout=15_000)
    wait_ready(page)
    page.wait_for_function(f"() => {VIDEO}.currentTime > 0.2 && !{VIDEO}.paused", timeout=15_000)
    assert page.url == f"{live_server.url}/videos/{second.uuid}/"

    # "Autoplay next" off (kept on this device): the end is the end.
    page.get_by_label("Autoplay next").uncheck()
    page.reload()
    wait_ready(page)
    expect(page.get_by_label("Autoplay next")).not_to_be_checked()
    play_to_the_end(page)
    page.wait_for_timeout(1_000)
    expect(page.locator("[data-next-countdown]")).to_be_hidden()
    assert page.url == f"{live_server.url}/videos/{second.uuid}/"

    assert page.evaluate("() => window.__csp") == []
    context.close()
    assert errors == []


def test_no_countdown_without_anything_up_next(browser, live_server, media, tmp_path):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    only = helpers.published_video(media.mp4(), "The only case", tmp_path, uploader, approver)
    UserFactory(username="vera", roles=[roles.VIEWER])
    errors = []
    context, page = new_page(browser, errors, viewport={"width": 360, "height": 800})
    sign_in(page, live_server, "vera")
    page.goto(f"{live_server.url}/videos/{only.uuid}/")
    wait_ready(page)
    expect(page.locator("[data-up-next]")).to_have_count(0)
    play_to_the_end(page)
    page.wait_for_timeout(1_000)
    expect(page.locator("[data-next-countdown]")).to_be_hidden()
    context.close()
    assert errors == []


def test_a_playlist_keeps_its_own_end(browser, live_server, two_cases):
    """The last item of a playlist ends there: no Up next countdown, even with related videos."""
    from library.models import Playlist, PlaylistItem

    first, _second = two_cases
    vera = UserFactory(username="vera", roles=[roles.VIEWER])
    playlist = Playlist.objects.create(owner=vera, title="Hernia")
    item = PlaylistItem.objects.create(playlist=playlist, video=first, position=0)
    errors = []
    context, page = new_page(browser, errors)
    sign_in(page, live_server, "vera")
    url = f"{live_server.url}/videos/{first.uuid}/?playlist={playlist.pk}&item={item.pk}&play=1"
    page.goto(url)
    wait_ready(page)
    expect(page.locator("[data-up-next]")).to_have_count(0)
    play_to_the_end(page)
    expect(page.locator("[data-clip-notice-text]")).to_have_text("End of the playlist.")
    page.wait_for_timeout(1_000)
    expect(page.locator("[data-next-countdown]")).to_be_hidden()
    assert page.url == url
    context.close()
    assert errors == []
