"""
A case still being processed whose start already plays (issue #14), on the pages: the watch
page plays it with the note and the growing-case hooks of static/js/player.js; the review page
lets an approver watch it but offers no decision (and the service refuses one) until it is
done; the review queue lists it apart; "My uploads" has a Watch link for it. Through HTTP.
"""

import pytest

from tests.factories import VideoFactory
from tests.signin import otp_client, signed_in
from videos.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def growing(uploader):
    """72 s of a 150 s case processed, 48 %, the rest on its way."""
    return VideoFactory(
        uploader=uploader, title="Long case", status="processing", duration=150, ready_seconds=72, progress=48
    )


@pytest.fixture
def not_started(uploader):
    return VideoFactory(uploader=uploader, title="Queued case", status="processing", duration=150, progress=0)


def test_the_watch_page_plays_a_case_while_it_is_processed(client, uploader, viewer, growing):
    body = signed_in(uploader, client).get(f"/videos/{growing.uuid}/").content.decode()
    assert f'data-master-url="/api/v1/videos/{growing.uuid}/hls/master.m3u8"' in body
    assert 'data-ready-seconds="72.0"' in body and "data-growing" in body
    assert "<media-controller" in body and "noautoseektolive" in body
    assert (
        '<p class="font-medium tabular-nums text-slate-900 dark:text-white" data-growing-text>Processing: 48%</p>'
        in body
    )
    assert "data-processing" not in body  # not the "being prepared" panel
    # Viewers see published videos only.
    assert signed_in(viewer).get(f"/videos/{growing.uuid}/").status_code == 404


def test_the_watch_page_of_a_case_with_nothing_ready_yet_waits(client, uploader, not_started):
    body = signed_in(uploader, client).get(f"/videos/{not_started.uuid}/").content.decode()
    assert 'data-master-url=""' in body and "data-growing" not in body
    assert "This video is being prepared" in body


def test_a_finished_video_is_no_growing_case(client, uploader, growing):
    Video.objects.filter(pk=growing.pk).update(status="processed", ready_seconds=150, progress=100)
    body = signed_in(uploader, client).get(f"/videos/{growing.uuid}/").content.decode()
    assert "<media-controller" in body
    assert "data-growing" not in body


def test_an_approver_watches_a_case_being_processed_but_decides_only_at_the_end(client, approver, growing):
    otp_client(approver, client)
    body = client.get(f"/videos/review/{growing.uuid}/").content.decode()
    assert "<media-controller" in body and "data-growing" in body
    assert "Publishing waits until processing is finished" in body
    assert "You can start watching what is processed so far." in body
    assert '<button type="submit" class="btn btn-primary w-full">Publish</button>' not in body
    assert "data-when-processed hidden" in body  # player.js shows it when the job ends
    # The service refuses whatever the page offers (review.PUBLISH_FROM).
    response = client.post(f"/videos/review/{growing.uuid}/", {"action": "publish"}, follow=True)
    assert "A processing video cannot be published." in response.content.decode()
    growing.refresh_from_db()
    assert growing.status == "processing" and growing.published_at is None


def test_the_review_queue_lists_cases_being_processed_apart(client, approver, growing, not_started, uploader):
    waiting = VideoFactory(uploader=uploader, title="Finished case", status="processed", duration=60)
    otp_client(approver, client)
    response = client.get("/videos/review/")
    assert [video.title for video in response.context["processing"]] == ["Long case"]  # its start plays
    assert [video.title for video, _ in response.context["page_obj"].object_list] == [waiting.title]
    body = response.content.decode()
    assert "Being processed" in body and "48% processed" in body
    assert f'href="/videos/review/{growing.uuid}/">Start watching' in body
    assert "1 video awaiting review" in body


def test_my_uploads_offers_watch_as_soon_as_the_start_plays(client, uploader, growing, not_started):
    body = signed_in(uploader, client).get("/videos/mine/").content.decode()
    assert f'<a class="btn btn-primary" href="/videos/{growing.uuid}/" data-watch-link>Watch' in body
    assert f'<a class="btn btn-primary" href="/videos/{not_started.uuid}/" data-watch-link hidden>Watch' in body
