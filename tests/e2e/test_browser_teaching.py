"""
Teaching on a case (issue #16), in Chromium: an editor marks two chapters from the player; a
viewer sees their markers on the seek bar, jumps by chapter (menu and keys), posts a comment at
the current time mentioning a colleague; that second viewer sees it on the seek bar and in the
panel, and is notified (header count, notifications page). Captions appear in the CC menu and
the transcript panel seeks. No console error and no CSP violation; screenshots into docs/screenshots/.
"""

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts import roles
from teaching import services as teaching_services
from teaching.models import Caption, Chapter, Comment, Notification, Step
from tests.e2e import helpers
from tests.e2e.helpers import VIDEO, new_page, seek, sign_in, wait_ready
from tests.factories import CategoryFactory, SurgeonFactory, TOTPDeviceFactory, UserFactory
from videos.models import VideoSurgeon

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VTT = b"""WEBVTT

00:00:00.500 --> 00:00:03.000
Ports are placed under vision.

00:00:04.000 --> 00:00:07.500
Dissection of the triangle starts.

00:00:12.000 --> 00:00:15.000
Here is the critical view of safety.
"""


def now(page) -> float:
    return page.evaluate(f"() => {VIDEO}.currentTime")


@pytest.fixture
def case(media, tmp_path):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    category = CategoryFactory(name="Laparoscopic cholecystectomy")
    video = helpers.processed_video(media.hd(20), "Lap chole, difficult Calot", tmp_path, uploader)
    video.category = category
    video.date_of_surgery = date(2026, 11, 2)
    video.save(update_fields=["category", "date_of_surgery"])
    VideoSurgeon.objects.create(video=video, surgeon=SurgeonFactory(name="Dr Kim"))
    video = helpers.services.video_publish(user=approver, video=video)
    Step.objects.create(category=category, name="Port placement", position=0, colour="#0ea5e9")
    Step.objects.create(category=category, name="Critical view of safety", position=2, colour="#22c55e")
    teaching_services.caption_add(user=uploader, video=video, data=VTT, language="en", label="English")
    return video


def test_teach_on_a_case(browser, live_server, case):
    video = case
    url = f"{live_server.url}/videos/{video.uuid}/"
    editor = UserFactory(username="ed", roles=[roles.VIEWER, roles.EDITOR])
    device = TOTPDeviceFactory(user=editor)
    UserFactory(username="vera", roles=[roles.VIEWER])
    UserFactory(username="wes", roles=[roles.VIEWER], email="wes@example.org")
    errors = []

    # The editor marks two chapters from the player: a step, then free text.
    context, page = new_page(browser, errors, height=900)
    sign_in(page, live_server, "ed", device)
    page.goto(url)
    wait_ready(page, timeout=30_000)
    seek(page, 2.0)
    page.get_by_role("button", name="Mark a chapter here").click()
    page.locator("[data-chapter-step]").select_option(label="Port placement")
    expect(page.locator("[data-chapter-title]")).to_have_value("Port placement")
    with page.expect_response(lambda r: r.url.endswith("/chapters/") and r.request.method == "PUT") as saved:
        page.get_by_role("button", name="Save chapter").click()
    assert saved.value.status == 200
    seek(page, 11.0)
    page.get_by_role("button", name="Mark a chapter here").click()
    page.locator("[data-chapter-title]").fill("Clipping the cystic duct")
    with page.expect_response(lambda r: r.url.endswith("/chapters/") and r.request.method == "PUT"):
        page.get_by_role("button", name="Save chapter").click()
    expect(page.locator("[data-chapter-list] [data-chapter]")).to_have_count(2)
    assert list(Chapter.objects.filter(video=video).values_list("start", "title", "step__name")) == [
        (2.0, "Port placement", "Port placement"),
        (11.0, "Clipping the cystic duct", None),
    ]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "teaching-editor-chapters.png"))

    # The editor adds a second caption track from the page (an SRT file, stored as WebVTT).
    page.locator("[data-caption-upload] summary").click()
    srt = "1\n00:00:01,000 --> 00:00:03,000\nColoca\u00e7\u00e3o dos trocartes.\n".encode()
    page.locator("#caption-file").set_input_files(files=[{"name": "pt.srt", "mimeType": "text/plain", "buffer": srt}])
    page.locator("#caption-language").fill("pt-BR")
    page.locator("#caption-label").fill("Português")
    with page.expect_navigation():
        page.get_by_role("button", name="Upload captions").click()
    assert list(Caption.objects.filter(video=video).values_list("language", "label")) == [
        ("en", "English"),
        ("pt-BR", "Português"),
    ]
    context.close()

    # A viewer sees the markers, jumps by chapter and comments at the current time.
    context, page = new_page(browser, errors, height=900)
    sign_in(page, live_server, "vera")
    page.goto(url)
    wait_ready(page, timeout=30_000)
    expect(page.locator("[data-chapter-marker]")).to_have_count(2)
    expect(page.get_by_role("button", name="Mark a chapter here")).to_have_count(0)
    page.get_by_role("button", name="Chapters").click()
    menu = page.locator("[data-chapter-menu]")
    expect(menu.get_by_role("menuitem")).to_have_count(2)
    menu.get_by_role("menuitem", name="Clipping the cystic duct").click()
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 11) < 0.1 && !{VIDEO}.seeking")
    page.locator("main h1").click()
    page.keyboard.press("[")  # back to the chapter's start… then the previous chapter
    page.keyboard.press("[")
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 2) < 0.1 && !{VIDEO}.seeking")
    page.keyboard.press("]")
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 11) < 0.1 && !{VIDEO}.seeking")
    # The chapter list's ?t= links seek in place.
    page.locator("[data-chapter-list] a", has_text="Port placement").click()
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 2) < 0.3")
    page.locator("[data-video]").evaluate("v => v.pause()")
    seek(page, 12.5)
    expect(page.locator("[data-comment-at]")).to_have_text("0:12")
    page.locator("[data-comment-body]").fill("Is this a true critical view? @wes what do you think")
    with page.expect_response(lambda r: r.url.endswith("/comments/") and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Post").click()
    assert posted.value.status == 201
    comment = Comment.objects.get()
    assert (comment.at, comment.author.username) == (12.5, "vera")
    expect(page.locator(f"[data-comment-marker='{comment.pk}']")).to_have_count(1)
    assert Notification.objects.filter(user__username="wes").count() == 1
    context.close()

    # The colleague sees it on the seek bar, is notified, and the captions and transcript work.
    context, page = new_page(browser, errors, height=900)
    sign_in(page, live_server, "wes")
    expect(page.locator("[data-unread-count='1']")).to_have_count(1)
    page.get_by_role("link", name="Notifications").click()
    page.get_by_role("link", name="Lap chole, difficult Calot at 0:12").click()
    wait_ready(page, timeout=30_000)
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 12) < 0.5")
    marker = page.locator(f"[data-comment-marker='{comment.pk}']")
    expect(marker).to_have_count(1)
    expect(page.locator(f"[data-comment='{comment.pk}'][aria-current='true']")).to_have_count(1)  # the panel follows
    expect(page.locator(f"[data-comment='{comment.pk}'] [data-comment-body]")).to_have_text(
        "Is this a true critical view? @wes what do you think"
    )
    seek(page, 1.0)
    marker.click(force=True)
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 12.5) < 0.1")

    # Captions in the CC menu (the settings menu's Captions entry).
    page.locator("media-settings-menu-button").click()
    page.get_by_role("menuitem", name="Captions").click()
    expect(page.get_by_role("menuitemradio", name="English")).to_have_count(1)
    expect(page.get_by_role("menuitemradio", name="Português")).to_have_count(1)
    page.get_by_role("menuitemradio", name="English").click()
    page.wait_for_function(
        f"() => Array.from({VIDEO}.textTracks).some(t => t.kind === 'captions' && t.mode === 'showing')"
    )
    page.keyboard.press("Escape")

    # The transcript: lines from the caption file; find; click a line to seek; it follows playback.
    lines = page.locator("[data-transcript-list] [data-cue]")
    expect(lines).to_have_count(3)
    page.locator("[data-transcript-find]").fill("triangle")
    expect(lines).to_have_count(1)
    expect(page.locator("[data-transcript-status]")).to_have_text("1 line matches")
    lines.first.click()
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 4) < 0.2")
    expect(page.locator("[data-transcript-list] [data-cue][aria-current='true']")).to_have_text(
        "0:04Dissection of the triangle starts."
    )
    page.locator("[data-transcript-find]").fill("")
    page.screenshot(path=str(SHOTS / "teaching-watch-1280.png"), full_page=True)

    # Search finds words said only in the captions and links to the moment.
    page.goto(f"{live_server.url}/library/search/?q=critical+view")
    moment = page.locator("[data-moments] a", has_text="at 0:12")
    expect(moment).to_have_count(1)
    expect(page.locator("[data-moments] li")).to_have_text("at 0:12 — Here is the critical view of safety.")
    page.screenshot(path=str(SHOTS / "teaching-search-moments.png"), full_page=True)
    moment.click()
    wait_ready(page, timeout=30_000)
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 12) < 0.5")
    page.goto(f"{live_server.url}/teaching/notifications/")
    page.screenshot(path=str(SHOTS / "teaching-notifications.png"), full_page=True)

    assert page.evaluate("() => window.__csp") == []
    context.close()
    assert errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_teaching_panel_at_360_px(browser, live_server, case, scheme):
    video = case
    Chapter.objects.create(video=video, start=0, title="Port placement")
    Chapter.objects.create(video=video, start=8, title="Critical view of safety")
    vera = UserFactory(username="vera", roles=[roles.VIEWER])
    Comment.objects.create(
        video=video, author=vera, body="Note the posterior dissection https://example.org/atlas", at=9
    )
    errors = []
    context, page = new_page(browser, errors, height=900, viewport={"width": 360, "height": 800}, color_scheme=scheme)
    sign_in(page, live_server, "vera")
    page.goto(f"{live_server.url}/videos/{video.uuid}/")
    wait_ready(page, timeout=30_000)
    expect(page.locator("[data-comment]")).to_have_count(1)
    expect(page.locator("[data-transcript-list] [data-cue]")).to_have_count(3)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(SHOTS / f"teaching-watch-360-{scheme}.png"), full_page=True)
    context.close()
    assert errors == []
