"""
The player page's Content-Security-Policy: media-chrome's shadow-DOM <style>s get through a
per-response nonce (README, Decisions), never through 'unsafe-inline'. Scripts stay 'self' only,
the nonce is the one the player bundle's <script> carries, and pages without the player keep
style-src 'self'.
"""

import re

import pytest
from django.urls import reverse

from tests.factories import LadderVideoFactory

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


def test_the_player_page_allows_its_styles_by_nonce(client, viewer, uploader):
    video = LadderVideoFactory(uploader=uploader, title="Published case")
    client.force_login(viewer)
    response = client.get(reverse("videos:watch", kwargs={"video_uuid": video.uuid}))
    assert response.status_code == 200
    policy = directives(response)
    match = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9+/=]{20,})'", policy["style-src"])
    assert match, policy["style-src"]
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    html = response.content.decode()
    bundle = re.search(r'<script src="[^"]*vendor/media-player\.js" nonce="([^"]+)" defer></script>', html)
    assert bundle and bundle.group(1) == match.group(1)
    # Another response, another nonce.
    again = directives(client.get(reverse("videos:watch", kwargs={"video_uuid": video.uuid})))["style-src"]
    assert again != policy["style-src"]


def test_pages_without_the_player_keep_styles_to_files(client, viewer):
    client.force_login(viewer)
    for path in ("/", reverse("library:history"), reverse("accounts:login")):
        assert directives(client.get(path))["style-src"] == "'self'", path
