"""
Cards in Chromium (issue #15): real posters (one landscape, one portrait case through the real
pipeline), the h:mm:ss badge on each, equal heights in a row, the portrait poster letter-boxed
(its whole picture inside the 16:9 box), and nothing wider than a 360 px screen. Screenshots of
the home page at 1280 and 360 px, light and dark, go to docs/screenshots/.
"""

from pathlib import Path

import pytest

from accounts import roles
from tests.e2e.helpers import published_video, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_home_cards(browser, live_server, media, tmp_path, scheme):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", roles=[roles.VIEWER, roles.APPROVER])
    UserFactory(username="vera", roles=[roles.VIEWER])
    published_video(media.mp4(), "Laparoscopic cholecystectomy", tmp_path, uploader, approver)
    published_video(media.portrait(), "Phone recording of a wound closure", tmp_path, uploader, approver)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (360, 780)):
        context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
        page = context.new_page()
        sign_in(page, live_server, "vera")
        page.goto(live_server.url + "/")
        cards = page.locator("#recent-heading ~ ul [data-card]")
        assert cards.count() == 2
        badges = page.locator("#recent-heading ~ ul [data-duration-badge]").all_inner_texts()
        assert [badge.replace("Duration", "").strip() for badge in badges] == ["0:01", "0:02"]
        page.wait_for_function(
            "() => [...document.querySelectorAll('#recent-heading ~ ul img')].every((i) => i.complete && i.naturalWidth)"
        )
        boxes = [cards.nth(i).bounding_box() for i in range(2)]
        if width == 1280:  # side by side: the same height
            assert abs(boxes[0]["height"] - boxes[1]["height"]) < 1, boxes
        portrait = page.locator("#recent-heading ~ ul img").first  # newest first
        fit = portrait.evaluate("(img) => [getComputedStyle(img).objectFit, img.naturalWidth < img.naturalHeight]")
        assert fit == ["contain", True]
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), width
        page.screenshot(path=str(SHOTS / f"home-cards-{width}-{scheme}.png"), full_page=False)
        context.close()
