"""
Portrait cases (issue #15): rungs are named by the short side everywhere — the player's
quality menu (data-renditions maps each size to its name), the details, and the viewer's
default-quality preference, whose choices are those same names.
"""

import pytest
from django.urls import reverse

from accounts.forms import PreferencesForm
from tests.factories import LadderVideoFactory, RenditionFactory

pytestmark = pytest.mark.django_db


def test_portrait_rungs_are_named_by_the_short_side_on_the_watch_page(viewer_client, viewer):
    video = LadderVideoFactory(title="Phone recording", width=1080, height=1920)
    for name, width, height in [("1080p", 1080, 1920), ("720p", 720, 1280), ("360p", 360, 640)]:
        RenditionFactory(video=video, name=name, width=width, height=height)
    viewer.default_quality = "720p"
    viewer.save(update_fields=["default_quality"])
    html = viewer_client.get(reverse("videos:watch", args=[video.uuid])).content.decode()
    assert 'data-renditions="1080p=1080x1920 720p=720x1280 360p=360x640"' in html
    assert "<li>720p · 720×1280</li>" in html
    assert "1920p" not in html and "1280p" not in html
    # The preference names a rung the way the menu does, so "720p" picks the 720×1280 rung.
    assert '<script id="player-preferences" type="application/json">{"quality": "720p"' in html


def test_the_default_quality_choices_are_rung_names():
    choices = {value for value, _ in PreferencesForm().fields["default_quality"].choices}
    assert {"auto", "360p", "720p", "1080p"} <= choices
    assert not {"640p", "1280p", "1920p"} & choices
