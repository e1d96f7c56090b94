"""Playlists in Chromium: a viewer makes a playlist, adds two ready videos from their watch
pages (one as a one-second clip), puts them in a new order with the keyboard and by dragging, then plays
all: the first ends, the second starts by itself and stops at its clip's end. No player error.
Then, from the related cards, ticks a video and adds it to a new playlist with the selection bar,
and sees the API's refusal when the ticked video stopped being playable."""

import pytest

from accounts import roles
from library.models import Playlist
from library.services import view_record
from tests.e2e.helpers import published_video, sign_in
from tests.factories import TagFactory, UserFactory
from videos.models import Video

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIDEO = "document.querySelector('[data-video]')"


def add_from_watch_page(page, live_server, video, playlist_title, end=""):
    page.goto(f"{live_server.url}/videos/{video.uuid}/")
    panel = page.locator("#add-to-playlist")
    assert not panel.is_visible()  # closed until asked for
    page.get_by_role("button", name="Add to playlist").click()
    panel.get_by_label("Playlist", exact=True).select_option(label=playlist_title)
    if end:
        panel.get_by_label("Clip end").fill(end)
    with page.expect_response(lambda r: "/items/" in r.url and r.request.method == "POST") as response:
        panel.get_by_role("button", name="Add", exact=True).click()
    assert response.value.status == 201
    panel.locator("[data-add-status]").filter(has_text=f"Added 1 video to “{playlist_title}”.").wait_for()


def test_make_reorder_by_keyboard_and_play_all(browser, live_server, media, shot, tmp_path):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    vera = UserFactory(username="vera", roles=[roles.VIEWER])
    first = published_video(media.mp4(), "Port placement", tmp_path, uploader, approver)  # 2 s
    second = published_video(media.hd(4), "Clipping the duct", tmp_path, uploader, approver)  # 4 s
    # Open the viewing sessions now: the master playlist then writes no view count while the
    # page reads the video at the same moment, which the in-memory test database (table locks,
    # no busy timeout) would refuse with "database table is locked".
    for video in (first, second):
        view_record(user=vera, video=video)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server, "vera")

    # Make the playlist on the playlists page.
    page.goto(f"{live_server.url}/library/playlists/")
    page.get_by_label("Title").fill("Cholecystectomy reel")
    page.get_by_role("button", name="Create playlist").click()
    page.get_by_role("heading", name="Cholecystectomy reel").wait_for()
    playlist = Playlist.objects.get()

    # Add both from their watch pages; the second only up to 0:01.
    add_from_watch_page(page, live_server, first, "Cholecystectomy reel")
    add_from_watch_page(page, live_server, second, "Cholecystectomy reel", end="0:01")
    items = list(playlist.items.order_by("position"))
    assert [item.video_id for item in items] == [first.pk, second.pk]
    assert items[1].end_time == 1

    # Reorder with the keyboard: Alt+ArrowUp on the second item's link moves it first.
    page.goto(f"{live_server.url}/library/playlists/{playlist.pk}/")
    link = page.get_by_role("link", name="Clipping the duct")
    link.focus()
    with page.expect_response(lambda r: r.url.endswith("/items/reorder/")) as response:
        page.keyboard.press("Alt+ArrowUp")
    assert response.value.status == 200
    live = page.locator("[data-reorder-live]")
    page.wait_for_function("() => document.querySelector('[data-reorder-live]').textContent !== ''")
    assert live.text_content() == "“Clipping the duct” moved to position 1 of 2."
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Clipping the duct"
    assert list(playlist.items.order_by("position").values_list("video_id", flat=True)) == [second.pk, first.pk]
    # …and back down with the Move down button, also from the keyboard.
    page.get_by_role("button", name="Move “Clipping the duct” down").focus()
    with page.expect_response(lambda r: r.url.endswith("/items/reorder/")):
        page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('[data-reorder-live]').textContent.includes('position 2 of 2')"
    )
    assert list(playlist.items.order_by("position").values_list("video_id", flat=True)) == [first.pk, second.pk]
    # Drag and drop: its handle onto the top half of the first item puts it first again.
    rows = page.locator("[data-item-id]")
    with page.expect_response(lambda r: r.url.endswith("/items/reorder/")) as response:
        rows.nth(1).locator("[data-drag-handle]").drag_to(rows.nth(0), target_position={"x": 40, "y": 8})
    assert response.value.status == 200
    page.wait_for_function(
        "() => document.querySelector('[data-reorder-live]').textContent.includes('position 1 of 2')"
    )
    assert rows.nth(0).get_attribute("data-title") == "Clipping the duct"
    assert list(playlist.items.order_by("position").values_list("video_id", flat=True)) == [second.pk, first.pk]
    shot(page, "playlist-detail")

    # Play all: the one-second clip plays, then the next item opens and plays by itself.
    page.get_by_role("link", name="Play all").click()
    page.wait_for_url(f"**/videos/{second.uuid}/?playlist={playlist.pk}*play=1")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 0.3", timeout=20_000)
    page.wait_for_url(f"**/videos/{first.uuid}/?playlist={playlist.pk}*play=1", timeout=20_000)
    page.wait_for_function(f"() => {VIDEO}.currentTime > 0.5 && !{VIDEO}.paused || {VIDEO}.ended", timeout=20_000)
    sidebar = page.locator("aside", has_text="Cholecystectomy reel")
    assert sidebar.locator("[aria-current=true]").inner_text().startswith("▶")
    assert "Port placement" in sidebar.locator("[aria-current=true]").inner_text()
    # The last item plays to its end and says so.
    page.locator("[data-clip-notice]").filter(has_text="End of the playlist.").wait_for(timeout=20_000)
    assert page.locator("[data-player-error]").is_hidden()
    shot(page, "playlist-play-all")

    # Cards: tick the related video, add it to a new playlist from the selection bar.
    for video in (first, second):
        video.tags.add(TagFactory(name="Laparoscopy"))
    page.goto(f"{live_server.url}/videos/{first.uuid}/")
    page.wait_for_load_state("networkidle")  # the player is done loading: no reads race the write below
    bar = page.locator("[data-selection-bar]")
    assert bar.is_hidden()
    page.get_by_label("Select “Clipping the duct”").check()
    bar.wait_for()
    assert bar.locator("[data-selection-count]").inner_text() == "1 video selected"
    bar.get_by_label("Add to playlist").select_option(label="New playlist…")
    bar.get_by_label("New playlist title").fill("Duct anatomy")
    with page.expect_response(lambda r: "/items/" in r.url and r.request.method == "POST"):
        bar.get_by_role("button", name="Add", exact=True).click()
    bar.locator("[data-add-status]").filter(has_text="Added 1 video to “Duct anatomy”.").wait_for()
    assert not page.get_by_label("Select “Clipping the duct”").is_checked()
    assert list(Playlist.objects.get(title="Duct anatomy").items.values_list("video_id", flat=True)) == [second.pk]

    # The ticked video is archived before "Add": the API's 400 message is shown as it is.
    page.get_by_label("Select “Clipping the duct”").check()
    page.wait_for_load_state("networkidle")
    Video.objects.filter(pk=second.pk).update(status="archived")
    with page.expect_response(lambda r: "/items/" in r.url and r.request.method == "POST") as response:
        bar.get_by_role("button", name="Add", exact=True).click()
    assert response.value.status == 400
    message = response.value.json()["video"][0]
    status = bar.locator("[data-add-status]")
    status.filter(has_text="Not added").wait_for()
    assert status.inner_text() == f"Not added: “Clipping the duct”: {message}"
    shot(page, "playlist-selection-refused")
    assert [e for e in errors if "400 (Bad Request)" not in e] == []
    # Leave the page and let any last progress save land before the database is flushed.
    page.goto("about:blank")
    page.wait_for_timeout(500)
    context.close()
