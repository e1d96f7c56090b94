"""
Issue #15: the details typed on the upload page survive a reload mid-upload. tus resumes the
bytes of the same file; the words are kept beside them (static/js/upload-form.js) and come
back when the same file is chosen again (they are forgotten once saved to the video).
"""

import pytest

from accounts import roles
from tests.e2e.helpers import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KEPT = "() => Object.keys(localStorage).filter((key) => key.startsWith('svl:upload-details:')).length"


def test_details_come_back_after_a_reload_mid_upload(page, live_server, media, shot):
    UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER])
    clip = str(media.hd(6))
    sign_in(page, live_server, "uma")

    # The network drops mid-upload: every chunk (tus PATCH) fails.
    def drop_chunks(route):
        if route.request.method == "PATCH":
            route.abort()
        else:
            route.continue_()

    page.route("**/api/v1/uploads/**", drop_chunks)
    page.goto(f"{live_server.url}/videos/upload/")
    page.locator("[data-file-input]").set_input_files(clip)
    item = page.locator("[data-item]").first
    item.locator("input[name=title]").fill("Robotic hernia repair, mesh placement")
    item.locator("textarea[name=description]").fill("Critical view at 12:30.")
    item.locator("input[name=date_of_surgery]").fill("2026-10-02")
    page.wait_for_function("() => Object.keys(localStorage).some((key) => key.startsWith('svl:upload-details:'))")

    page.reload()
    page.unroute("**/api/v1/uploads/**")
    page.locator("[data-file-input]").set_input_files(clip)
    item = page.locator("[data-item]").first
    assert item.locator("input[name=title]").input_value() == "Robotic hernia repair, mesh placement"
    assert item.locator("textarea[name=description]").input_value() == "Critical view at 12:30."
    assert item.locator("input[name=date_of_surgery]").input_value() == "2026-10-02"
    assert "are back" in item.locator("[data-save-status]").inner_text()
    shot(page, "upload-details-restored")

    assert page.evaluate(KEPT) == 1  # kept until saved to the video
