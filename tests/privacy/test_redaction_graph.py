"""The redacted recording's FFmpeg graph (privacy.redaction, no ORM) and which masks apply to a video."""

import pytest

from privacy import redaction
from privacy.models import Mask
from privacy.redaction import Span
from tests.factories import CategoryFactory, VideoFactory

pytestmark = pytest.mark.django_db


def test_overlapping_cuts_join_and_times_move_back():
    spans = [Span(10, 20, "cut"), Span(15, 25, "cut"), Span(40, 45, "cut"), Span(50, 55, "blur")]
    assert redaction.merged_cuts(spans) == [Span(10, 25, "cut"), Span(40, 45, "cut")]
    assert redaction.cut_seconds(spans, duration=60) == 20
    cuts = redaction.merged_cuts(spans)
    assert [redaction.after_cuts(t, cuts) for t in (5, 12, 30, 42, 50)] == [5, 10, 15, 25, 30]


def test_the_graph_blurs_blacks_and_cuts_on_the_source_timeline():
    graph = redaction.video_graph([Span(10, 20, "blur"), Span(30, 31.5, "black"), Span(40, 45, "cut")], [], "0:v:0")
    assert "boxblur=luma_radius=min(w\\,h)/6:luma_power=4" in graph
    assert "enable='gte(t,10.000)*lt(t,20.000)'" in graph
    assert "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='gte(t,30.000)*lt(t,31.500)'" in graph
    assert "select='not(gte(t,40.000)*lt(t,45.000))',setpts='PTS-(gte(T,45.000)*5.000)/TB'" in graph
    assert redaction.audio_graph([Span(40, 45, "cut")]) == (
        "[0:a:0]anull,aselect='not(gte(t,40.000)*lt(t,45.000))',asetpts='PTS-(gte(T,45.000)*5.000)/TB'[a]"
    )
    assert redaction.video_graph([], [], "0:1") == "[0:1]null[v0];[v0]null[v]"


def test_a_mask_blurs_its_rectangle_over_the_whole_picture():
    graph = redaction.video_graph([], [[0.75, 0, 0.25, 0.1]], "0:v:0")
    assert "crop=w=iw*0.2500:h=ih*0.1000:x=iw*0.7500:y=ih*0.0000" in graph
    assert "overlay=x=W*0.7500:y=H*0.0000" in graph
    assert "enable" not in graph  # the whole video


def test_masks_of_a_video_its_own_its_category_and_its_uploader():
    category = CategoryFactory()
    video = VideoFactory(category=category)
    own = Mask.objects.create(name="own", video=video, rectangles=[[0, 0, 0.1, 0.1]])
    preset = Mask.objects.create(name="tower", category=category, rectangles=[[0, 0, 0.2, 0.1]])
    mine = Mask.objects.create(name="uploader", uploader=video.uploader, rectangles=[[0.8, 0.8, 0.2, 0.2]])
    Mask.objects.create(name="other", video=VideoFactory(), rectangles=[[0, 0, 0.5, 0.5]])
    Mask.objects.create(name="other category", category=CategoryFactory(), rectangles=[[0, 0, 0.5, 0.5]])
    assert set(Mask.objects.for_video(video)) == {own, preset, mine}
