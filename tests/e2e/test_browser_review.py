"""Curation in Chromium: an approver (signed in with a second factor) opens the review queue,
plays the video on the review page and rejects it with a reason; the uploader reads the reason
on "My uploads", edits the details and resubmits; the approver publishes. Both decisions reach
the uploader by e-mail (Django's locmem backend in tests)."""

import pytest
from django.core import mail

from accounts import roles
from audit.models import AuditEvent
from tests.e2e import helpers
from tests.e2e.helpers import sign_in
from tests.factories import TOTPDeviceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIDEO = "document.querySelector('[data-video]')"
REASON = "The patient's name is readable on the monitor at 0:03. Please blur it or trim the start."


def new_page(browser, errors, width=1280):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page


def fits(page, width):
    """No sideways scrolling at this viewport width."""
    return page.evaluate("() => document.documentElement.scrollWidth") <= width


def processed_video(media, tmp_path, uploader):
    return helpers.processed_video(media.hd(8), "Lap chole, teaching cut", tmp_path, uploader)


def test_reject_edit_resubmit_publish(browser, live_server, media, shot, tmp_path):
    uploader = UserFactory(username="uma", full_name="Uma Uploader", roles=[roles.VIEWER, roles.UPLOADER])
    approver = UserFactory(username="appy", full_name="Ann Approver", roles=[roles.VIEWER, roles.APPROVER])
    device = TOTPDeviceFactory(user=approver)
    video = processed_video(media, tmp_path, uploader)
    mail.outbox.clear()

    # The approver finds the video in the queue, watches it, and rejects it with a reason.
    approver_errors = []
    approver_context, page = new_page(browser, approver_errors)
    sign_in(page, live_server, "appy", device)
    page.goto(f"{live_server.url}/videos/review/")
    assert "1 video awaiting review" in page.locator("main").inner_text()
    row = page.locator("[data-review-row]")
    assert "Lap chole, teaching cut" in row.inner_text()
    assert "Uma Uploader" in row.inner_text()
    assert row.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")  # signed poster loads
    shot(page, "review-queue")
    row.get_by_role("link", name="Review “Lap chole, teaching cut”").click()
    page.wait_for_url(f"**/videos/review/{video.uuid}/")

    page.locator("[data-video]").evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 2", timeout=60_000)
    page.locator("[data-video]").evaluate("v => v.pause()")

    # An empty reason is refused and nothing changes.
    page.get_by_role("button", name="Reject").click()
    page.locator("#id_reason_errors").wait_for()
    assert "Say why the video is rejected" in page.locator("#id_reason_errors").inner_text()
    assert page.locator("#id_reason").get_attribute("aria-invalid") == "true"
    video.refresh_from_db()
    assert video.status == "processed"
    assert mail.outbox == []

    page.locator("#id_reason").fill(REASON)  # the reject form's (the legal-hold panel has a Reason too)
    shot(page, "review-reject")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url(f"{live_server.url}/videos/review/")
    assert "Nothing is waiting for review" in page.locator("main").inner_text()
    video.refresh_from_db()
    assert (video.status, video.review_note) == ("rejected", REASON)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [uploader.email]
    assert REASON in mail.outbox[0].body
    assert f"/videos/{video.uuid}/edit/" in mail.outbox[0].body

    # The uploader reads the reason on "My uploads", edits and resubmits (on a phone-sized screen).
    uploader_errors = []
    uploader_context, upage = new_page(browser, uploader_errors, width=360)
    sign_in(upage, live_server, "uma")
    upage.goto(f"{live_server.url}/videos/mine/")
    assert REASON in upage.locator("[data-review-note]").inner_text()
    assert fits(upage, 360)
    upage.get_by_role("link", name="Edit and resubmit “Lap chole, teaching cut”").click()
    upage.wait_for_url(f"**/videos/{video.uuid}/edit/")
    assert REASON in upage.locator("[data-review-note]").inner_text()
    assert fits(upage, 360)
    upage.get_by_label("Title").fill("Laparoscopic cholecystectomy, name blurred")
    upage.get_by_label("Description").fill("Teaching cut; the monitor is blurred from 0:00 to 0:10.")
    shot(upage, "edit-resubmit-360")
    upage.get_by_role("button", name="Save and resubmit for review").click()
    upage.wait_for_url(f"{live_server.url}/videos/mine/")
    assert "back in the review queue" in upage.locator("#toasts").inner_text()
    assert upage.locator("[data-status-badge]").inner_text() == "Awaiting review"
    assert upage.locator("[data-review-note]").count() == 0
    video.refresh_from_db()
    assert (video.status, video.review_note) == ("processed", "")
    assert video.title == "Laparoscopic cholecystectomy, name blurred"
    assert AuditEvent.objects.filter(event="video_resubmit", actor=uploader).count() == 1
    assert uploader_errors == []

    # The approver sees it again, with the earlier reason in its history, and publishes it.
    page.goto(f"{live_server.url}/videos/review/")
    page.get_by_role("link", name="Review “Laparoscopic cholecystectomy, name blurred”").click()
    page.wait_for_url(f"**/videos/review/{video.uuid}/")
    history = page.locator("section[aria-labelledby=history-heading]").inner_text()
    assert "Video resubmitted for review" in history and REASON in history
    page.locator("[data-video]").evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 1", timeout=60_000)
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(f"{live_server.url}/videos/review/")
    video.refresh_from_db()
    assert video.status == "published"
    assert [message.subject for message in mail.outbox] == [
        "Surgical Video Library: “Lap chole, teaching cut” was not approved",
        "Surgical Video Library: “Laparoscopic cholecystectomy, name blurred” is published",
    ]
    assert approver_errors == []

    # The review page also fits a phone.
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{live_server.url}/videos/review/{video.uuid}/")
    assert fits(page, 360)
    approver_context.close()
    uploader_context.close()
