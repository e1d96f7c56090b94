"""Search covers caption text (cue level, both databases) and steps: filter, facet, links to the moment."""

import pytest

from teaching import services
from teaching.models import Chapter
from tests.factories import VideoFactory

pytestmark = pytest.mark.django_db

VTT = b"""WEBVTT

00:00:05.000 --> 00:00:08.000
We start with the ports.

00:12:34.000 --> 00:12:38.000
Watch the gallbladder fundus retraction here.

00:20:00.000 --> 00:20:04.000
More fundus retraction, now cephalad.

00:21:00.000 --> 00:21:04.000
Fundus retraction again.

00:22:00.000 --> 00:22:04.000
And once more the fundus.
"""


@pytest.fixture
def captioned(uploader, category):
    video = VideoFactory(uploader=uploader, category=category, duration=3600, title="Cholecystectomy teaching case")
    services.caption_add(user=uploader, video=video, data=VTT, language="en", label="English")
    return video


def test_a_word_said_only_in_the_captions_finds_the_video_with_its_moments(as_user, viewer, captioned, uploader):
    VideoFactory(uploader=uploader, duration=60, title="Unrelated hernia")
    data = as_user(viewer).get("/api/v1/videos/", {"q": "fundus"}).json()
    assert [row["id"] for row in data["results"]] == [str(captioned.uuid)]
    assert data["results"][0]["matches"] == [
        {"at": 754.0, "text": "Watch the gallbladder fundus retraction here."},
        {"at": 1200.0, "text": "More fundus retraction, now cephalad."},
        {"at": 1260.0, "text": "Fundus retraction again."},
    ]  # up to three, in timeline order
    assert as_user(viewer).get("/api/v1/videos/", {"q": "zebra"}).json()["count"] == 0


def test_caption_words_and_other_fields_combine(as_user, viewer, captioned):
    data = as_user(viewer).get("/api/v1/videos/", {"q": "cholecystectomy ports"}).json()
    assert [row["id"] for row in data["results"]] == [str(captioned.uuid)]
    assert data["results"][0]["matches"] == [{"at": 5.0, "text": "We start with the ports."}]
    # Without a query, no moments.
    assert as_user(viewer).get("/api/v1/videos/").json()["results"][0]["matches"] == []


def test_a_video_found_by_its_title_has_no_moments_unless_its_captions_say_it(as_user, viewer, captioned, uploader):
    titled = VideoFactory(uploader=uploader, duration=60, title="Fundus first, a hernia")
    services.caption_add(user=uploader, video=titled, data=VTT.replace(b"undus", b"ocus"), language="en", label="En")
    data = as_user(viewer).get("/api/v1/videos/", {"q": "fundus", "ordering": "title"}).json()
    moments = {row["title"]: row["matches"] for row in data["results"]}
    assert moments["Fundus first, a hernia"] == []  # found by its title; its captions never say it
    assert len(moments["Cholecystectomy teaching case"]) == 3
    # Every word of the query found somewhere: in the captioned case, in one cue.
    data = as_user(viewer).get("/api/v1/videos/", {"q": "gallbladder fundus retraction", "ordering": "title"}).json()
    moments = {row["title"]: row["matches"] for row in data["results"]}
    assert moments["Cholecystectomy teaching case"][0] == {
        "at": 754.0,
        "text": "Watch the gallbladder fundus retraction here.",
    }


def test_captions_of_a_video_you_may_not_see_find_nothing(as_user, viewer, uploader, category):
    hidden = VideoFactory(uploader=uploader, category=category, duration=3600, status="processed")
    services.caption_add(user=uploader, video=hidden, data=VTT, language="en", label="English")
    assert as_user(viewer).get("/api/v1/videos/", {"q": "fundus"}).json()["count"] == 0
    assert as_user(uploader).get("/api/v1/videos/", {"q": "fundus"}).json()["count"] == 1


def test_steps_filter_and_facet_link_to_the_chapter(as_user, viewer, uploader, category, steps):
    cvs = steps[2]
    with_cvs = VideoFactory(uploader=uploader, category=category, duration=600, title="Case A")
    without = VideoFactory(uploader=uploader, category=category, duration=600, title="Case B")
    Chapter.objects.create(video=with_cvs, start=0, title="Ports", step=steps[0])
    Chapter.objects.create(video=with_cvs, start=312, title="Critical view", step=cvs)
    Chapter.objects.create(video=without, start=0, title="Ports", step=steps[0])
    client = as_user(viewer)
    everything = client.get("/api/v1/videos/").json()
    assert [(row["name"], row["count"]) for row in everything["facets"]["steps"]] == [
        ("Port placement", 2),
        ("Critical view of safety", 1),
    ]
    assert everything["facets"]["steps"][1] == {
        "id": cvs.pk,
        "name": "Critical view of safety",
        "category": "Laparoscopic cholecystectomy",
        "colour": "#22aa55",
        "count": 1,
    }
    data = client.get("/api/v1/videos/", {"steps": cvs.pk}).json()
    assert [row["id"] for row in data["results"]] == [str(with_cvs.uuid)]
    assert data["results"][0]["matches"] == [{"at": 312.0, "text": "Critical view"}]
    bad = client.get("/api/v1/videos/", {"steps": "cvs"})
    assert bad.status_code == 400
    assert bad.json() == {"detail": "Invalid input.", "steps": ["Give step ids (numbers)."]}


def test_the_search_page_shows_at_links_and_the_step_facet(client, viewer, uploader, category, steps, captioned):
    Chapter.objects.create(video=captioned, start=754, title="Critical view", step=steps[2])
    client.force_login(viewer)
    html = client.get("/library/search/", {"q": "fundus"}).content.decode()
    watch = f"/videos/{captioned.uuid}/"
    assert f'<a class="link tabular-nums" href="{watch}?t=754" data-moment="754.0">at 12:34</a>' in html
    assert "— Watch the gallbladder fundus retraction here." in html
    assert "Surgical step" in html and "Critical view of safety" in html
    page = client.get("/library/search/", {"steps": steps[2].pk}).content.decode()
    assert f'href="{watch}?t=754"' in page
    assert "step: Critical view of safety" in page
    assert client.get("/library/search/", {"steps": "x"}).status_code == 400


def test_sqlite_finds_captions_through_one_text_per_video_and_its_fts_index(as_user, viewer, captioned, uploader):
    from django.db import connection

    from teaching import search
    from teaching.models import Caption, VideoCaptionText

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL has its own index")
    assert search.CAPTION_TEXT_FTS.ensure(connection)
    (text,) = VideoCaptionText.objects.all()
    assert (text.video_id, text.text.count("\n") + 1) == (captioned.pk, 5)  # a line per cue
    assert "fundus" in text.text
    sql = "SELECT count(*) FROM teaching_captiontext_fts WHERE teaching_captiontext_fts MATCH %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, ['"fundus"'])
        assert cursor.fetchone()[0] == 1  # one row per video, however many cues say it
        # The cues' own index of before is gone (migration 0004).
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'teaching_cue_fts%%'")
        assert cursor.fetchone()[0] == 0
    # Kept in step: a deleted caption is found no more, and its text goes.
    services.caption_delete(user=uploader, caption=Caption.objects.get())
    assert as_user(viewer).get("/api/v1/videos/", {"q": "fundus"}).json()["count"] == 0
    assert not VideoCaptionText.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute(sql, ['"fundus"'])
        assert cursor.fetchone()[0] == 0
