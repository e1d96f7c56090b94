"""
The library issue's whole journey in Chromium, one user from start to end: sign in, upload a
generated clip through the page, wait until it is ready, play it (time advances, no player
error), leave after a few seconds, come back and resume near there, favourite it and find it
on the favourites page, find it by its tag with the search box, filter it out by duration,
put it in a new playlist and play the playlist. Then the main pages at 360 px in dark mode:
no sideways scrolling; and an administrator's "who watched" page lists those viewing
sessions. Screenshots land in test-results/.
"""

import pytest

from accounts import roles
from library.models import Favorite, Playlist, ViewEvent, WatchProgress
from tests.e2e.helpers import sign_in
from tests.e2e.test_browser_admin_roles import sign_in_to_admin, staff_user
from tests.factories import TagFactory, UserFactory
from videos import services
from videos.models import Video

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIDEO = "document.querySelector('[data-video]')"
TITLE = "Laparoscopic cholecystectomy, critical view"


def no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_upload_play_resume_favourite_search_playlist(browser, live_server, media, shot, settings):
    # The upload page here fills title and tags only; the details an approver needs before
    # publishing (PUBLISH_REQUIRED_FIELDS) are tested in tests/videos/test_publish_gate.py.
    settings.PUBLISH_REQUIRED_FIELDS = []
    uma = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    TagFactory(name="Laparoscopy")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server, "uma")

    # Upload a 20 s clip with a title and a tag; wait until it is ready.
    page.goto(f"{live_server.url}/videos/upload/")
    page.locator("[data-file-input]").set_input_files(str(media.hd(20)))
    item = page.locator("[data-item]").first
    item.locator("input[name=title]").fill(TITLE)
    item.locator("input[name=tags]").fill("Laparoscopy")
    item.locator("[data-save]").click()
    item.locator("[data-processing-status]").filter(has_text="Awaiting review").wait_for(timeout=120_000)
    video = Video.objects.get(uploader=uma)
    assert list(video.tags.values_list("name", flat=True)) == ["Laparoscopy"]
    services.video_publish(user=approver, video=video)
    watch_url = f"{live_server.url}/videos/{video.uuid}/"

    # Play: time advances and the player reports no error; leave after about 4 s.
    page.goto(watch_url)
    page.locator("[data-video]").evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 4", timeout=60_000)
    assert page.locator("[data-player-error]").is_hidden()
    shot(page, "journey-video-page")
    page.goto("about:blank")  # page hide: the position goes out with sendBeacon
    for _ in range(50):  # the beacon lands on its own time
        progress = WatchProgress.objects.filter(user=uma, video=video).first()
        if progress is not None and progress.position >= 3.5:
            break
        page.wait_for_timeout(100)
    assert progress is not None and 3.5 <= progress.position <= 10, progress
    # Home lists it under "Continue watching" with a resume link.
    page.goto(f"{live_server.url}/")
    page.wait_for_load_state("networkidle")
    shot(page, "journey-home")
    assert page.locator(f'a[href^="/videos/{video.uuid}/?t="]').count() >= 1

    # Reopen: playback resumes near the saved position.
    page.goto(watch_url)
    page.locator("[data-resume-notice]").wait_for(state="visible", timeout=30_000)
    current = page.locator("[data-video]").evaluate("v => v.currentTime")
    assert abs(current - progress.position) <= 2

    # Favourite it (no reload) and find it on the favourites page.
    with page.expect_response(lambda r: "/favorite/" in r.url and r.request.method == "PUT"):
        page.locator("[data-favorite]").click()
    page.wait_for_function("() => document.querySelector('[data-favorite]').getAttribute('aria-pressed') === 'true'")
    assert Favorite.objects.filter(user=uma, video=video).exists()
    page.goto(f"{live_server.url}/library/favorites/")
    assert page.get_by_role("link", name=TITLE).count() >= 1

    # Search by its tag from the header's search box, then filter it out by duration.
    page.locator("#nav-search").fill("laparoscopy")
    page.locator("#nav-search").press("Enter")
    page.wait_for_url("**/library/search/?q=laparoscopy*")
    assert page.locator("#results-heading").inner_text() == "1 result for “laparoscopy”"
    assert page.locator("mark", has_text="Laparoscop").count() >= 1  # the match is highlighted
    page.locator("#filter-minutes-min").fill("1")  # the clip is 20 s long
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**minutes_min=1*")
    assert page.locator("#results-heading").inner_text() == "0 results for “laparoscopy”"
    shot(page, "journey-search-filtered-out")

    # Add it to a new playlist from the video page, then play the playlist.
    page.goto(watch_url)
    page.get_by_role("button", name="Add to playlist").click()
    panel = page.locator("#add-to-playlist")
    panel.get_by_label("Playlist", exact=True).select_option(label="New playlist…")
    panel.get_by_label("New playlist title").fill("Teaching reel")
    with page.expect_response(lambda r: "/items/" in r.url and r.request.method == "POST") as response:
        panel.get_by_role("button", name="Add", exact=True).click()
    assert response.value.status == 201
    playlist = Playlist.objects.get(owner=uma, title="Teaching reel")
    assert list(playlist.items.values_list("video_id", flat=True)) == [video.pk]
    page.goto(f"{live_server.url}/library/playlists/")
    page.get_by_role("link", name="Teaching reel").first.click()
    page.get_by_role("link", name="Play all").click()
    page.wait_for_url(f"**/videos/{video.uuid}/?playlist={playlist.pk}*")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 1 && !{VIDEO}.paused", timeout=30_000)
    assert page.locator("[data-player-error]").is_hidden()
    shot(page, "journey-playlist-playing")
    # The full header fits from the smallest desktop width up.
    for width in (1024, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/")
        assert page.locator("#nav-search").is_visible()
        assert no_sideways_scroll(page), width
        nav_height = page.evaluate("() => document.querySelector('header').getBoundingClientRect().height")
        assert nav_height < 80, (width, nav_height)  # one row, no wrapped links
    page.goto("about:blank")
    page.wait_for_timeout(300)
    assert errors == []
    context.close()

    # The main pages on a 360 px phone in dark mode: readable, nothing scrolls sideways.
    context = browser.new_context(viewport={"width": 360, "height": 780}, color_scheme="dark")
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server, "uma")
    pages = {
        "home": "/",
        "video": f"/videos/{video.uuid}/",
        "search": "/library/search/?q=cholecystectomy",
        "history": "/library/history/",
        "favorites": "/library/favorites/",
        "playlists": "/library/playlists/",
        "playlist": f"/library/playlists/{playlist.pk}/",
        "tag": "/library/tags/laparoscopy/",
        "upload": "/videos/upload/",
        "mine": "/videos/mine/",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") != "rgb(255, 255, 255)", name
        assert no_sideways_scroll(page), name
        shot(page, f"journey-360-dark-{name}")
    page.goto("about:blank")
    page.wait_for_timeout(300)
    assert errors == []
    context.close()

    # An administrator answers "who watched this case?" from the sessions above.
    sessions = list(ViewEvent.objects.filter(video=video, user=uma))
    assert sessions and sum(session.seconds_watched for session in sessions) >= 3
    _, device = staff_user(roles.ADMIN, "ada")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in_to_admin(page, live_server, "ada", device)
    page.goto(f"{live_server.url}/admin/audit/videos/{video.uuid}/viewers/")
    rows = page.locator("table:has(th:text-is('Viewer')) tbody tr")
    assert rows.count() == len(sessions)
    assert all("uma" in text for text in rows.all_inner_texts())
    assert page.locator("th:text-is('Different viewers') + td").inner_text() == "1"
    shot(page, "journey-who-watched")
    context.close()
