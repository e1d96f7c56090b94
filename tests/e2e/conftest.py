"""Browser tests: Playwright (Python) driving the operating system's Chromium.

Playwright's own browser download is never used (it cannot work offline); the Debian
``chromium`` package is launched by path. ``make test`` installs it when missing.
"""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# test itself (creating users) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"


class _InFlight:
    """Requests the live server is handling now, counted from Django's request signals.

    A page that is closed still sends its last beacon (the resume position, a view's end); if
    that request is inside its transaction while the test's teardown flushes the database,
    PostgreSQL's TRUNCATE and the request's row locks can deadlock, the flush fails and the
    next test finds the last one's rows. Teardown waits until the server has been quiet.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.last = 0.0

    def started(self, **kwargs):
        with self.lock:
            self.count += 1
            self.last = time.monotonic()

    def finished(self, **kwargs):
        with self.lock:
            self.count = max(0, self.count - 1)
            self.last = time.monotonic()

    def wait_quiet(self, quiet=0.5, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.count == 0 and time.monotonic() - self.last >= quiet:
                    return
            time.sleep(0.05)


IN_FLIGHT = _InFlight()


@pytest.fixture(autouse=True)
def fastest_x264(settings):
    """
    The browser tests make their ladders with x264's fastest preset: what they test is the
    pages and the player, not the picture (tests/videos encode with the product's preset and
    check seams, keyframes and quality). x264 then takes about a third less CPU than with the
    suite's "superfast", and encoding is most of this directory's time.
    """
    settings.TRANSCODE_PRESET = "ultrafast"


@pytest.fixture(autouse=True)
def live_server_quiet_before_flush(request):
    """Before the database is flushed, let the live server finish what the browser sent last."""
    if "live_server" not in request.fixturenames:
        yield
        return
    from django.core import signals

    # Set up after the database fixture, so torn down before it flushes.
    request.getfixturevalue("transactional_db")
    signals.request_started.connect(IN_FLIGHT.started, dispatch_uid="e2e-in-flight-started")
    signals.request_finished.connect(IN_FLIGHT.finished, dispatch_uid="e2e-in-flight-finished")
    yield
    IN_FLIGHT.wait_quiet()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make test` (it installs the OS package) or set CHROMIUM_PATH"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def shot():
    """Save a screenshot under test-results/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name):
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take
