"""What several browser tests set up the same way."""

import hashlib
import shutil
from pathlib import Path

from tests.factories import PASSWORD
from tests.signin import totp_code
from tests.videos_helpers import publishable_metadata
from videos import services
from videos.models import Video


def sign_in(page, live_server, username: str, device=None) -> None:
    """Through the sign-in page (and, with ``device``, its second factor); the browser ends signed in."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if device is not None:
        page.locator("#id_code").fill(totp_code(device))
        page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state("networkidle")
    assert "/accounts/login" not in page.url


def processed_video(source: Path, title: str, tmp_path: Path, uploader) -> Video:
    """``source`` (a generated clip) through the real pipeline, inline: transcoded, awaiting review."""
    path = tmp_path / source.name
    shutil.copy(source, path)
    data = path.read_bytes()
    video = services.video_create_from_file(
        user=uploader,
        path=path,
        filename=source.name,
        md5=hashlib.md5(data).hexdigest(),
        size=len(data),
        metadata={"title": title, **publishable_metadata()},
    )
    video.refresh_from_db()
    assert video.status == "processed", video.failure_reason
    return video


def published_video(source: Path, title: str, tmp_path: Path, uploader, approver) -> Video:
    video = processed_video(source, title, tmp_path, uploader)
    return services.video_publish(user=approver, video=video)


# ------------------------------------------------------------------------------ the player
VIDEO = "document.querySelector('[data-video]')"
CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def new_page(browser, errors, *, height: int = 800, **options):
    """A page of a new context (1280 × ``height``) recording CSP violations and console errors into ``errors``."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": height}, **options})
    context.add_init_script(CSP)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page


def wait_ready(page, *, timeout: int = 60_000):
    """Until the player has its levels and a frame to show."""
    page.wait_for_function(
        f"() => {VIDEO}.api && {VIDEO}.api.levels.length > 0 && {VIDEO}.readyState >= 2", timeout=timeout
    )


def seek(page, seconds):
    page.evaluate(f"(t) => {{ {VIDEO}.currentTime = t; }}", seconds)
    page.wait_for_function(f"(t) => Math.abs({VIDEO}.currentTime - t) < 0.05 && !{VIDEO}.seeking", arg=seconds)
