"""
Issue #14's done-when, in Chromium: a 150 s 1080p case uploaded through the API plays while it
is still `processing`, well before the end, and turns into an ordinary on-demand video when the
last chunk is in, without a reload.

The transcode queue is the test's own: django-q2's ``async_task`` records the tasks (the planning
task, then chunk tasks) and the test runs them as a transcode worker would, so it can stop
between chunks. With the product's chunking (12 s, then 60 s) the case is four chunks
(0-12, 12-72, 72-132, 132-150) and the audio.

1. The planner and the first chunk and the audio: 12 s play; ffmpeg decodes them from the signed
   master URL (an EVENT playlist, no ENDLIST).
2. The second chunk (72 s ready), then the watch page as the uploader: it plays from 0 (hls.js
   would start a live playlist near its edge), the seek bar spans the whole 2:30 and shades the
   processed part, the note says percent and time left, a seek past the processed part lands just
   before its end with a message. Screenshots at 1280 and 360 px.
3. The rest, while the page plays on: hls.js follows the growing playlist past 72 s, then finds
   ENDLIST: the real duration, no more note or shading, the same page (no reload).
No console error, no player error, no CSP violation.
"""

import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
from rest_framework.test import APIClient

from accounts import roles
from tests.e2e.helpers import sign_in
from tests.factories import UserFactory
from tests.media import ffmpeg
from tests.videos_helpers import upload
from videos.models import TranscodeJob, Video
from videos.services import transcode

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIDEO = "document.querySelector('[data-video]')"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LENGTH = 150
# svl.timeLeft's words: "about 6 min left", "less than a minute left" (the estimate depends on the machine).
TIME_LEFT = re.compile(r"\u00b7 (about \d+ min|less than a minute) left$")

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " + (event.sample || ""));
});
"""


@pytest.fixture(scope="module")
def long_case(tmp_path_factory) -> Path:
    """150 s of 1920×1080 at 30 fps with a tone (about 150 MB; ultrafast, so it takes seconds)."""
    path = tmp_path_factory.mktemp("long-case") / "case.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(LENGTH), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "32", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k", str(path),
    )  # fmt: skip
    return path


class Queue:
    """Stands in for django-q2's ``async_task``: records what the product queues."""

    def __init__(self):
        self.tasks = []

    def __call__(self, func, *args, **kwargs):
        self.tasks.append((func, args))

    def take(self, func):
        taken = [args for name, args in self.tasks if name == func]
        self.tasks = [(name, args) for name, args in self.tasks if name != func]
        return taken


def run_chunk(job, kind, index):
    chunk = job.chunks.get(kind=kind, index=index)
    outcome = transcode.transcode_chunk_run(chunk_id=chunk.pk, token=str(job.token))
    assert not outcome.startswith(("failed", "not queued")), outcome
    return outcome


def new_page(browser, errors, **options):
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page


def now(page) -> float:
    return page.evaluate(f"() => {VIDEO}.currentTime")


def time_display(page) -> str:
    """What media-chrome's time display shows ("0:03 / 2:30"; it draws in its shadow root)."""
    text = page.evaluate(
        "() => document.querySelector('media-time-display').shadowRoot.querySelector('slot').textContent"
    )
    return text.replace("\xa0", " ")


def ready_share(page) -> float:
    """The processed share of the seek bar, in percent (player.js's --player-ready)."""
    value = page.evaluate("() => document.querySelector('[data-player]').style.getPropertyValue('--player-ready')")
    return float(value.rstrip("%"))


def decodes(url: str, seconds: float) -> tuple[int, int]:
    """
    Video frames and audio samples ffmpeg decodes from the first ``seconds`` of a growing HLS
    stream. ffmpeg takes an EVENT playlist for live: from its first segment (-live_start_index),
    and it stops at the first packet past ``seconds``, which must therefore be there already.
    """
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-live_start_index", "0", "-i", url,
         "-map", "0:v:0", "-map", "0:a:0", "-t", str(seconds), "-f", "framecrc", "-"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
    lines = [line.split(",") for line in done.stdout.splitlines() if line and not line.startswith("#")]
    frames = sum(1 for line in lines if line[0].strip() == "0")
    samples = sum(int(line[3]) for line in lines if line[0].strip() == "1")
    return frames, samples


def test_a_long_case_plays_while_it_is_processed(browser, live_server, long_case, monkeypatch):
    uploader = UserFactory(username="uma", roles=[roles.VIEWER, roles.UPLOADER], default_quality="360p")
    queue = Queue()
    monkeypatch.setattr("django_q.tasks.async_task", queue)
    api = APIClient()
    api.force_authenticate(uploader)

    # ------------------------------------------------ 1. the start plays after one chunk
    response = upload(api, long_case, title="Long case, still processing")
    assert response.status_code == 201, response.content
    video = Video.objects.get(uuid=response.json()["id"])
    [(video_id, token)] = queue.take("videos.tasks.transcode")
    assert transcode.video_transcode(video_id=video_id, token=token).startswith("planned: 5 part(s), 1080p")
    job = TranscodeJob.objects.get(video=video)
    run_chunk(job, "video", 0)
    run_chunk(job, "audio", 0)
    body = api.get(f"/api/v1/videos/{video.uuid}/").json()
    assert (body["status"], body["playable"], body["ready_seconds"], body["progress"]) == ("processing", True, 12, 8)
    assert body["processing_eta_seconds"] >= 1
    # Any HLS client: ffmpeg plays the ready part from the signed master URL.
    hls = urlparse(body["hls_url"])
    frames, samples = decodes(f"{live_server.url}{hls.path}?{hls.query}", 11.5)
    assert frames == pytest.approx(11.5 * 30, abs=2)
    assert samples == pytest.approx(11.5 * 48000, abs=2048)

    # ------------------------------------------------ 2. the watch page, 72 s of 150 ready
    run_chunk(job, "video", 1)
    video.refresh_from_db()
    assert (video.status, video.ready_seconds, video.progress) == ("processing", 72, 48)
    errors = []
    context, page = new_page(browser, errors)
    sign_in(page, live_server, "uma")
    page.goto(f"{live_server.url}/videos/{video.uuid}/")
    page.evaluate("() => { window.__samePage = true; }")
    page.wait_for_function(
        f"() => {VIDEO}.api && {VIDEO}.api.levels.length > 0 && {VIDEO}.readyState >= 2", timeout=30_000
    )
    assert page.locator("#watch-app").get_attribute("data-growing") == ""
    # From the start (a live playlist would start 3 target durations before its edge, at 54 s)…
    assert now(page) < 1
    page.locator("[data-video]").evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 1.5", timeout=30_000)
    # …as on-demand media whose whole length is known: 2:30 on the time display.
    controller = page.locator("media-controller")
    assert controller.get_attribute("mediastreamtype") == "on-demand"
    assert float(controller.get_attribute("mediaduration")) == pytest.approx(LENGTH, abs=0.5)
    assert time_display(page).endswith("/ 2:30")
    # The processed part of the seek bar and the note.
    assert ready_share(page) == pytest.approx(72 / LENGTH * 100, abs=0.5)
    note = page.locator("[data-growing-note]")
    text = note.locator("[data-growing-text]")
    text.filter(has_text=TIME_LEFT).wait_for(timeout=10_000)
    assert text.inner_text().startswith("Processing: 48% \u00b7 ")
    assert note.locator("[data-growing-ready]").inner_text().startswith("Plays up to 1:12 of 2:30 so far")

    # A click at 80 % of the seek bar (2:00, not processed yet) lands just before 1:12, and says so.
    bar = page.locator("media-time-range").bounding_box()
    page.mouse.click(bar["x"] + bar["width"] * 0.8, bar["y"] + bar["height"] / 2)
    page.locator("[data-player-toast]").filter(has_text="Processed up to 1:12 so far").wait_for()
    page.wait_for_function(f"() => {VIDEO}.currentTime > 69 && {VIDEO}.currentTime < 72 && !{VIDEO}.seeking")
    page.locator("[data-video]").evaluate("v => v.pause()")
    page.mouse.move(bar["x"] + bar["width"] * 0.3, bar["y"] - 60)  # the controls stay up
    page.wait_for_timeout(300)
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The player and the note under it.
    below = note.bounding_box()
    page.screenshot(
        path=str(SHOTS / "watch-processing-1280.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": below["y"] + below["height"] + 24},
    )

    phone_errors = []
    phone, small = new_page(browser, phone_errors, viewport={"width": 360, "height": 780})
    sign_in(small, live_server, "uma")
    small.goto(f"{live_server.url}/videos/{video.uuid}/?t=20")
    small.wait_for_function(
        f"() => {VIDEO}.readyState >= 2 && Math.abs({VIDEO}.currentTime - 20) < 0.5", timeout=30_000
    )
    small.locator("[data-growing-text]").filter(has_text=TIME_LEFT).wait_for(timeout=10_000)
    assert small.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    small.screenshot(path=str(SHOTS / "watch-processing-360.png"), full_page=True)
    assert small.evaluate("() => window.__csp") == []
    small.goto("about:blank")
    assert phone_errors == []
    phone.close()

    # ------------------------------------------------ 3. the rest, while the page plays on
    page.locator("[data-video]").evaluate("v => v.play()")
    run_chunk(job, "video", 2)
    # hls.js reloads the playlist, finds 72-132 and plays on past what was the end.
    page.wait_for_function(f"() => {VIDEO}.currentTime > 74", timeout=60_000)
    page.wait_for_function(
        "() => parseFloat(document.querySelector('[data-player]').style.getPropertyValue('--player-ready')) > 85",
        timeout=30_000,
    )
    assert page.locator("#watch-app").get_attribute("data-growing") == ""
    assert run_chunk(job, "video", 3).startswith("ok")
    video.refresh_from_db()
    assert video.status == "processed" and video.ready_seconds == pytest.approx(LENGTH, abs=0.5)

    # ENDLIST: hls.js stops reloading, the media has its real duration, the player is an ordinary one.
    page.wait_for_function(
        f"""() => {{
          const hls = {VIDEO}.api;
          const details = hls.levels[hls.currentLevel].details;
          return details && !details.live && Number.isFinite({VIDEO}.duration);
        }}""",
        timeout=30_000,
    )
    assert page.evaluate(f"() => {VIDEO}.duration") == pytest.approx(LENGTH, abs=0.5)
    page.wait_for_function("() => !document.querySelector('#watch-app').hasAttribute('data-growing')", timeout=15_000)
    assert note.is_hidden()
    assert page.evaluate("() => document.querySelector('[data-player]').style.getPropertyValue('--player-ready')") == ""
    assert controller.get_attribute("mediastreamtype") == "on-demand"
    page.locator("[data-status-badge]").filter(has_text="Awaiting review").wait_for(timeout=15_000)
    # No reload: the page (and the playback) of step 2.
    assert page.evaluate("() => window.__samePage") is True
    assert now(page) > 74
    assert page.locator("[data-player-error]").is_hidden()
    assert page.evaluate("() => window.__csp") == []
    page.goto("about:blank")
    assert errors == []
    context.close()
