"""Playlist pages, adding from the watch page and the card selection, play-all, and the watch
page's related list: who sees what, every write through the page views, constant queries."""

import re

import factory
import pytest

from accounts import roles
from library import services
from library.models import Playlist, PlaylistItem
from tests.factories import CategoryFactory, PlaylistFactory, TagFactory, VideoFactory, VideoSurgeonFactory
from videos.models import Surgeon, Video

pytestmark = pytest.mark.django_db


class CardFactory(VideoFactory):
    """
    A published 20-minute video with a poster and storyboard, tagged with ``tags`` (names;
    Laparoscopy unless given) and by ``surgeons`` (names; Dr Rao unless given).
    """

    duration = 1200.0
    has_poster = True
    has_storyboard = True

    @factory.post_generation
    def tags(video, create, extracted, **kwargs):
        names = ("Laparoscopy",) if extracted is None else extracted
        video.tags.set([TagFactory(name=name) for name in names])

    @factory.post_generation
    def surgeons(video, create, extracted, **kwargs):
        for name in ("Dr Rao",) if extracted is None else extracted:
            VideoSurgeonFactory(video=video, surgeon=Surgeon.objects.get_or_create(name=name)[0])


def playlist_with(owner, videos, **kwargs):
    playlist = services.playlist_create(user=owner, title=kwargs.pop("title", "Key steps"), **kwargs)
    for v in videos:
        services.playlist_item_add(user=owner, playlist=playlist, video=v)
    return playlist


def order_of(playlist):
    return list(playlist.items.order_by("position").values_list("video__title", flat=True))


# --------------------------------------------------------------------------- list and create


def test_list_shows_mine_and_shared_with_counts_duration_owner_and_badge(client, viewer, uploader, make_user):
    a, b = (
        CardFactory(uploader=uploader, title="Case 1", duration=600),
        CardFactory(uploader=uploader, title="Case 2", duration=1200),
    )
    mine = playlist_with(viewer, [a, b], title="My reel")
    services.playlist_item_add(user=viewer, playlist=mine, video=a, start_time=60, end_time=120)
    playlist_with(uploader, [a], title="Uma shared", is_shared=True)
    playlist_with(uploader, [a], title="Uma private")
    client.force_login(viewer)
    html = client.get("/library/playlists/").content.decode()
    assert "My reel" in html and "Uma shared" in html
    assert "Uma private" not in html
    assert "3 videos · about 31 minutes" in html  # 600 + 1200 + a 60 s clip
    assert "Shared</span>" in html and "Private</span>" in html
    assert f"by {uploader.full_name}" in html
    assert f"/api/v1/videos/{a.uuid}/media/poster.jpg?token=" in html
    assert f'href="/library/playlists/{mine.pk}/play/"' in html


def test_list_counts_only_videos_the_reader_may_see(client, viewer, uploader):
    shown, hidden = CardFactory(uploader=uploader, title="Case 1"), CardFactory(uploader=uploader, title="Case 2")
    shared = playlist_with(uploader, [shown, hidden], is_shared=True)
    Video.objects.filter(pk=hidden.pk).update(status="processed")  # unpublished after it was added
    client.force_login(viewer)
    html = client.get("/library/playlists/").content.decode()
    assert "1 video · about 20 minutes" in html
    detail = client.get(f"/library/playlists/{shared.pk}/").content.decode()
    assert "Case 1" in detail and "Case 2" not in detail


def test_create_through_the_page(client, viewer):
    client.force_login(viewer)
    response = client.post("/library/playlists/new/", {"title": " Cholecystectomy steps ", "description": "For F1s"})
    playlist = Playlist.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/library/playlists/{playlist.pk}/"
    assert (playlist.owner, playlist.title, playlist.description, playlist.is_shared) == (
        viewer,
        "Cholecystectomy steps",
        "For F1s",
        False,
    )


def test_create_with_an_empty_title_shows_the_form_error(client, viewer):
    client.force_login(viewer)
    response = client.post("/library/playlists/new/", {"title": "   "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Playlist.objects.exists()


def test_share_checkbox_is_offered_to_uploaders_only_and_refused_for_viewers(client, viewer, uploader):
    client.force_login(viewer)
    page = client.get("/library/playlists/").content.decode()
    assert 'type="checkbox" name="is_shared"' not in page
    assert "needs the Uploader role" in page
    response = client.post("/library/playlists/new/", {"title": "Mine", "is_shared": "on"})
    assert response.status_code == 400
    assert "Your role may keep playlists private only" in response.content.decode()
    assert not Playlist.objects.exists()

    client.force_login(uploader)
    assert 'type="checkbox" name="is_shared"' in client.get("/library/playlists/").content.decode()
    assert client.post("/library/playlists/new/", {"title": "Ours", "is_shared": "on"}).status_code == 302
    assert Playlist.objects.get().is_shared is True


# --------------------------------------------------------------------------- detail and edits


def test_detail_shows_items_in_order_with_clip_range_and_note(client, viewer, uploader):
    a, b = CardFactory(uploader=uploader, title="Case 1"), CardFactory(uploader=uploader, title="Case 2")
    playlist = playlist_with(viewer, [a])
    services.playlist_item_add(
        user=viewer, playlist=playlist, video=b, start_time=90, end_time=150, note="Calot's triangle"
    )
    client.force_login(viewer)
    html = client.get(f"/library/playlists/{playlist.pk}/").content.decode()
    assert html.index("Case 1") < html.index("Case 2")
    assert "Clip 1:30–2:30" in html and "Calot&#x27;s triangle" in html
    item = playlist.items.get(video=b)
    assert f"/videos/{b.uuid}/?playlist={playlist.pk}&amp;item={item.pk}" in html
    assert "data-reorder " in html and f'data-reorder-url="/api/v1/playlists/{playlist.pk}/items/reorder/"' in html
    assert 'aria-label="Move “Case 2” up"' in html


def test_owner_renames_describes_shares_and_deletes(client, uploader):
    playlist = playlist_with(uploader, [])
    client.force_login(uploader)
    url = f"/library/playlists/{playlist.pk}/"
    response = client.post(url + "edit/", {"title": "Renamed", "description": "Now described", "is_shared": "on"})
    assert response.status_code == 302
    playlist.refresh_from_db()
    assert (playlist.title, playlist.description, playlist.is_shared) == ("Renamed", "Now described", True)
    response = client.post(url + "edit/", {"title": "", "description": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert client.post(url + "delete/").status_code == 302
    assert not Playlist.objects.exists()


def test_owner_who_lost_the_share_permission_can_still_rename_a_shared_playlist(client, viewer):
    playlist = PlaylistFactory(owner=viewer, title="Old", is_shared=True)
    client.force_login(viewer)
    response = client.post(f"/library/playlists/{playlist.pk}/edit/", {"title": "New", "is_shared": "True"})
    assert response.status_code == 302
    playlist.refresh_from_db()
    assert (playlist.title, playlist.is_shared) == ("New", True)
    # …but cannot share it again once it is private.
    client.post(f"/library/playlists/{playlist.pk}/edit/", {"title": "New", "is_shared": "False"})
    response = client.post(f"/library/playlists/{playlist.pk}/edit/", {"title": "New", "is_shared": "on"})
    assert response.status_code == 400
    assert Playlist.objects.get().is_shared is False


def test_remove_and_move_items_through_the_page(client, viewer, uploader):
    a, b, c = (
        CardFactory(uploader=uploader, title="Case 1"),
        CardFactory(uploader=uploader, title="Case 2"),
        CardFactory(uploader=uploader, title="Case 3"),
    )
    playlist = playlist_with(viewer, [a, b, c])
    client.force_login(viewer)
    item_c = playlist.items.get(video=c)
    url = f"/library/playlists/{playlist.pk}/items/{item_c.pk}/"
    response = client.post(url + "move/", {"direction": "up"})
    assert response.status_code == 302 and response["Location"].endswith(f"#item-{item_c.pk}")
    assert order_of(playlist) == ["Case 1", "Case 3", "Case 2"]
    client.post(url + "move/", {"direction": "up"})
    client.post(url + "move/", {"direction": "up"})  # already first: nothing changes
    assert order_of(playlist) == ["Case 3", "Case 1", "Case 2"]
    client.post(url + "move/", {"direction": "down"})
    assert order_of(playlist) == ["Case 1", "Case 3", "Case 2"]
    item_a = playlist.items.get(video=a)
    assert client.post(f"/library/playlists/{playlist.pk}/items/{item_a.pk}/remove/").status_code == 302
    assert order_of(playlist) == ["Case 3", "Case 2"]
    assert list(playlist.items.order_by("position").values_list("position", flat=True)) == [0, 1]


def test_reorder_through_the_api_the_page_uses(client, viewer, uploader):
    a, b = CardFactory(uploader=uploader, title="Case 1"), CardFactory(uploader=uploader, title="Case 2")
    playlist = playlist_with(viewer, [a, b])
    client.force_login(viewer)
    ids = list(playlist.items.order_by("position").values_list("pk", flat=True))
    response = client.post(
        f"/api/v1/playlists/{playlist.pk}/items/reorder/", {"order": ids[::-1]}, content_type="application/json"
    )
    assert response.status_code == 200
    assert order_of(playlist) == ["Case 2", "Case 1"]
    html = client.get(f"/library/playlists/{playlist.pk}/").content.decode()
    assert html.index("Case 2") < html.index("Case 1")


def test_owner_sees_unavailable_items_so_a_new_order_names_every_item(client, viewer, uploader):
    a, b = CardFactory(uploader=uploader, title="Case 1"), CardFactory(uploader=uploader, title="Case 2")
    playlist = playlist_with(viewer, [a, b])
    Video.objects.filter(pk=b.pk).update(status="archived")
    client.force_login(viewer)
    html = client.get(f"/library/playlists/{playlist.pk}/").content.decode()
    assert "Case 2" not in html and "Unavailable video" in html
    assert len(re.findall(r"data-item-id=", html)) == 2


def test_shared_playlist_is_read_only_for_others(client, viewer, uploader):
    a = CardFactory(uploader=uploader, title="Case 1")
    shared = playlist_with(uploader, [a], title="Team reel", is_shared=True)
    item = shared.items.get()
    client.force_login(viewer)
    html = client.get(f"/library/playlists/{shared.pk}/").content.decode()
    assert "Team reel" in html and "Case 1" in html
    assert "data-reorder-url" not in html and "/edit/" not in html and "/remove/" not in html
    assert client.get(f"/library/playlists/{shared.pk}/play/").status_code == 302
    base = f"/library/playlists/{shared.pk}/"
    assert client.post(base + "edit/", {"title": "Mine now"}).status_code == 403
    assert client.post(base + "delete/").status_code == 403
    assert client.post(base + f"items/{item.pk}/remove/").status_code == 403
    assert client.post(base + f"items/{item.pk}/move/", {"direction": "down"}).status_code == 403
    shared.refresh_from_db()
    assert shared.title == "Team reel" and shared.items.count() == 1


def test_private_playlist_of_another_user_is_404_on_every_page_and_post(client, viewer, uploader):
    a = CardFactory(uploader=uploader, title="Case 1")
    private = playlist_with(uploader, [a], title="Uma's notes")
    item = private.items.get()
    client.force_login(viewer)
    base = f"/library/playlists/{private.pk}/"
    for url in (base, base + "play/", f"/videos/{a.uuid}/?playlist={private.pk}&item={item.pk}"):
        assert client.get(url).status_code == 404, url
    for url, data in (
        (base + "edit/", {"title": "Mine"}),
        (base + "delete/", {}),
        (base + f"items/{item.pk}/remove/", {}),
        (base + f"items/{item.pk}/move/", {"direction": "up"}),
    ):
        assert client.post(url, data).status_code == 404, url
    # Adding to it is refused as a choice that is not yours (nothing said about whether it exists).
    response = client.post("/library/playlists/add/", {"playlist": private.pk, "video": str(a.uuid)})
    assert response.status_code == 400
    assert "Uma&#x27;s notes" not in response.content.decode()
    private.refresh_from_db()
    assert private.title == "Uma's notes" and private.items.count() == 1


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/library/playlists/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --------------------------------------------------------------------------- adding videos


def test_add_from_the_watch_page_form_with_a_clip(client, viewer, uploader):
    a = CardFactory(uploader=uploader, title="Case 1")
    playlist = playlist_with(viewer, [])
    client.force_login(viewer)
    watch = client.get(f"/videos/{a.uuid}/").content.decode()
    assert 'id="add-to-playlist"' in watch and f'<option value="{playlist.pk}">Key steps</option>' in watch
    response = client.post(
        "/library/playlists/add/",
        {
            "playlist": playlist.pk,
            "video": str(a.uuid),
            "start_time": "1:30",
            "end_time": "150",
            "note": "Clip",
            "next": f"/videos/{a.uuid}/",
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/videos/{a.uuid}/"
    item = PlaylistItem.objects.get()
    assert (item.playlist, item.video, item.start_time, item.end_time, item.note) == (playlist, a, 90, 150, "Clip")


def test_add_several_videos_to_a_new_playlist(client, viewer, uploader):
    a, b = CardFactory(uploader=uploader, title="Case 1"), CardFactory(uploader=uploader, title="Case 2")
    client.force_login(viewer)
    response = client.post(
        "/library/playlists/add/", {"playlist": "new", "new_title": "Selection", "video": [str(a.uuid), str(b.uuid)]}
    )
    playlist = Playlist.objects.get(title="Selection")
    assert response.status_code == 302 and response["Location"] == f"/library/playlists/{playlist.pk}/"
    assert playlist.owner == viewer and order_of(playlist) == ["Case 1", "Case 2"]


def test_add_reports_each_refused_video_and_keeps_the_rest(client, viewer, uploader):
    ok = CardFactory(uploader=uploader, title="Case 1")
    unplayable = CardFactory(
        uploader=viewer, title="Case 2", status="processing"
    )  # the viewer's own upload, still processing
    playlist = playlist_with(viewer, [])
    client.force_login(viewer)
    response = client.post(
        "/library/playlists/add/", {"playlist": playlist.pk, "video": [str(ok.uuid), str(unplayable.uuid)]}, follow=True
    )
    html = response.content.decode()
    assert "“Case 2” was not added: This video cannot be added: it is not ready to play" in html
    assert "Added 1 video to “Key steps”." in html
    assert order_of(playlist) == ["Case 1"]


def test_add_without_a_playlist_asks_for_one(client, viewer, uploader):
    a = CardFactory(uploader=uploader, title="Case 1")
    playlist_with(viewer, [])
    client.force_login(viewer)
    chooser = client.get(f"/library/playlists/add/?video={a.uuid}")
    assert chooser.status_code == 200 and "Case 1" in chooser.content.decode()
    response = client.post("/library/playlists/add/", {"video": str(a.uuid), "start_time": "soon"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose a playlist, or give a title for a new one." in html
    assert "Type the time as seconds (90) or as minutes and seconds (1:30)." in html
    assert not PlaylistItem.objects.exists()


def test_api_refuses_an_unplayable_video_with_a_message(client, viewer):
    """The message the card selection bar shows comes from here."""
    pending = CardFactory(uploader=viewer, title="Case 1", status="processing")
    playlist = playlist_with(viewer, [])
    client.force_login(viewer)
    response = client.post(
        f"/api/v1/playlists/{playlist.pk}/items/", {"video": str(pending.uuid)}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["video"] == ["This video cannot be added: it is not ready to play or not visible to you."]


def test_cards_carry_a_selection_checkbox_and_a_storyboard_source(client, viewer, uploader):
    a, b = CardFactory(uploader=uploader, title="Case 1"), CardFactory(uploader=uploader, title="Case 2")
    client.force_login(viewer)
    html = client.get(f"/videos/{a.uuid}/").content.decode()
    assert 'id="video-selection"' in html  # the related list has the selection bar
    assert f'name="video" value="{b.uuid}" form="video-selection" data-card-select' in html
    assert f'data-card-preview data-storyboard="/api/v1/videos/{b.uuid}/media/poster.jpg?token=' in html


# --------------------------------------------------------------------------- playing


def test_play_all_opens_the_first_playable_item(client, viewer, uploader):
    a, b = CardFactory(uploader=uploader, title="Case 1"), CardFactory(uploader=uploader, title="Case 2")
    playlist = playlist_with(viewer, [a, b])
    Video.objects.filter(pk=a.pk).update(status="processed")  # the viewer cannot see it any more
    client.force_login(viewer)
    item_b = playlist.items.get(video=b)
    response = client.get(f"/library/playlists/{playlist.pk}/play/")
    assert response.status_code == 302
    assert response["Location"] == f"/videos/{b.uuid}/?playlist={playlist.pk}&item={item_b.pk}&play=1"


def test_play_all_of_an_empty_playlist_goes_back_with_a_message(client, viewer):
    playlist = playlist_with(viewer, [])
    client.force_login(viewer)
    response = client.get(f"/library/playlists/{playlist.pk}/play/", follow=True)
    assert response.redirect_chain[-1][0] == f"/library/playlists/{playlist.pk}/"
    assert "nothing in this playlist you can play" in response.content.decode()


def test_watch_page_from_a_playlist_shows_the_sidebar_clip_and_next(client, viewer, uploader):
    a, b, c = (
        CardFactory(uploader=uploader, title="Case 1"),
        CardFactory(uploader=uploader, title="Case 2"),
        CardFactory(uploader=uploader, title="Case 3"),
    )
    playlist = playlist_with(viewer, [])
    first = services.playlist_item_add(user=viewer, playlist=playlist, video=a, start_time=30, end_time=45.5)
    second = services.playlist_item_add(user=viewer, playlist=playlist, video=b)
    services.playlist_item_add(user=viewer, playlist=playlist, video=c)
    viewer.autoplay_next = False
    viewer.save(update_fields=["autoplay_next"])
    client.force_login(viewer)
    html = client.get(f"/videos/{a.uuid}/?playlist={playlist.pk}&item={first.pk}").content.decode()
    assert 'data-clip-start="30.0"' in html and 'data-clip-end="45.5"' in html
    next_url = f"/videos/{b.uuid}/?playlist={playlist.pk}&amp;item={second.pk}"
    assert f'data-next-url="{next_url}"' in html
    assert 'data-advance-url=""' in html and "data-autostart" not in html  # autoplay next is off
    assert "Next in playlist" in html and "Playlist · 1 of 3" in html
    assert re.search(r'aria-current="true">\s*<span[^>]*>▶', html)

    # Play-all moves on by itself, and so does the "autoplay next" preference.
    html = client.get(f"/videos/{a.uuid}/?playlist={playlist.pk}&item={first.pk}&play=1").content.decode()
    assert f'data-advance-url="{next_url}&amp;play=1"' in html and "data-autostart" in html
    viewer.autoplay_next = True
    viewer.save(update_fields=["autoplay_next"])
    html = client.get(f"/videos/{a.uuid}/?playlist={playlist.pk}&item={first.pk}").content.decode()
    assert f'data-advance-url="{next_url}&amp;play=1"' in html and "data-autostart" not in html

    last = client.get(f"/videos/{c.uuid}/?playlist={playlist.pk}").content.decode()
    assert "This is the last video in the playlist." in last and 'data-next-url=""' in last


def test_watch_page_outside_a_playlist_has_no_playlist_mode(client, viewer, uploader):
    a = CardFactory(uploader=uploader, title="Case 1")
    client.force_login(viewer)
    html = client.get(f"/videos/{a.uuid}/").content.decode()
    assert "data-playlist-mode" not in html and "Next in playlist" not in html


# --------------------------------------------------------------------------- related


def test_related_lists_published_visible_videos_ranked_by_what_they_share(client, viewer, uploader, make_user):
    general = CategoryFactory(name="General")
    this = CardFactory(
        uploader=uploader, title="Case 1", tags=("Laparoscopy", "Gallbladder"), surgeons=("Dr Rao",), category=general
    )
    both = CardFactory(
        uploader=uploader, title="Case 2", tags=("Laparoscopy", "Gallbladder"), surgeons=("Dr Rao",)
    )  # 3 shared
    popular = CardFactory(
        uploader=uploader, title="Case 3", tags=("Laparoscopy",), surgeons=(), views=500
    )  # 1 shared, many views
    category_only = CardFactory(uploader=uploader, title="Case 4", tags=(), surgeons=(), category=general)  # 1 shared
    tag_and_category = CardFactory(
        uploader=uploader, title="Case 5", tags=("Gallbladder",), surgeons=(), category=general
    )  # 2 shared
    CardFactory(uploader=uploader, title="Case 6", tags=("Cardiac",), surgeons=("Dr Other",))  # nothing shared
    CardFactory(uploader=uploader, title="Case 7", status="processed")  # shares everything but is not published
    CardFactory(
        uploader=make_user(roles.VIEWER, roles.UPLOADER), title="Case 8", status="processed"
    )  # someone else's draft
    CardFactory(uploader=uploader, title="Case 9", status="archived")
    client.force_login(viewer)
    html = client.get(f"/videos/{this.uuid}/").content.decode()
    related = html[html.index('id="related-heading"') :]
    titles = re.findall(
        r'<a class="hover:underline focus-visible:underline" href="/videos/[^"]+/">(Case \d+)</a>', related
    )
    assert titles == ["Case 2", "Case 5", "Case 3", "Case 4"]
    assert popular.views == 500 and both and category_only and tag_and_category


def test_related_api_gives_the_same_list(api, viewer, uploader, make_user):
    general = CategoryFactory(name="General")
    this = CardFactory(
        uploader=uploader, title="Case 1", tags=("Laparoscopy", "Gallbladder"), surgeons=("Dr Rao",), category=general
    )
    CardFactory(uploader=uploader, title="Case 2", tags=("Laparoscopy", "Gallbladder"), surgeons=("Dr Rao",))
    CardFactory(uploader=uploader, title="Case 3", tags=("Laparoscopy",), surgeons=(), views=500)
    CardFactory(uploader=uploader, title="Case 4", tags=("Gallbladder",), surgeons=(), status="processed")
    hidden = CardFactory(uploader=make_user(roles.VIEWER, roles.UPLOADER), title="Case 5", status="processed")
    api.force_authenticate(viewer)
    response = api.get(f"/api/v1/videos/{this.uuid}/related/")
    assert response.status_code == 200
    assert [row["title"] for row in response.json()] == ["Case 2", "Case 3"]
    assert api.get(f"/api/v1/videos/{hidden.uuid}/related/").status_code == 404


def test_related_list_for_an_editor_still_leaves_out_unpublished_videos(client, make_user, uploader):
    editor = make_user(roles.VIEWER, roles.UPLOADER, roles.EDITOR)
    this = CardFactory(uploader=uploader, title="Case 1")
    CardFactory(uploader=uploader, title="Case 2", status="processed")
    CardFactory(uploader=uploader, title="Case 3", status="rejected")
    client.force_login(editor)
    html = client.get(f"/videos/{this.uuid}/").content.decode()
    assert 'id="related-heading"' not in html


# --------------------------------------------------------------------------- query counts


def test_list_page_costs_a_constant_number_of_queries(client, viewer, uploader, django_assert_num_queries):
    videos = [CardFactory(uploader=uploader, title=f"Case {n}") for n in range(1, 4)]
    client.force_login(viewer)
    client.get("/library/favorites/")  # warm the cache of the header's Browse counts (library.catalogue)

    def fill(n):
        Playlist.objects.all().delete()
        for i in range(n):
            if i % 2:
                playlist_with(viewer, videos, title=f"P{i}")
            else:
                playlist_with(uploader, videos, title=f"P{i}", is_shared=True)

    for n in (2, 10):
        fill(n)
        with django_assert_num_queries(10):
            assert client.get("/library/playlists/").status_code == 200


def test_detail_page_costs_a_constant_number_of_queries(client, viewer, uploader, django_assert_num_queries):
    videos = [CardFactory(uploader=uploader, title=f"Case {n}") for n in range(1, 11)]
    playlist = playlist_with(viewer, [])
    client.force_login(viewer)
    client.get("/library/favorites/")  # warm the cache of the header's Browse counts (library.catalogue)

    for n in (2, 10):
        playlist.items.all().delete()
        for v in videos[:n]:
            services.playlist_item_add(user=viewer, playlist=playlist, video=v, start_time=1, end_time=9)
        with django_assert_num_queries(14):
            assert client.get(f"/library/playlists/{playlist.pk}/").status_code == 200


def test_watch_page_from_a_playlist_costs_a_constant_number_of_queries(
    client, viewer, uploader, django_assert_num_queries
):
    videos = [CardFactory(uploader=uploader, title=f"Case {n}") for n in range(1, 11)]
    playlist = playlist_with(viewer, [])
    client.force_login(viewer)
    client.get("/library/favorites/")  # warm the cache of the header's Browse counts (library.catalogue)

    # Also the related list: 1 then 9 related videos (they all share the tag and the surgeon).
    for n in (2, 10):
        playlist.items.all().delete()
        for v in videos[:n]:
            services.playlist_item_add(user=viewer, playlist=playlist, video=v)
        with django_assert_num_queries(21):  # + chapters and caption tracks (teaching)
            assert client.get(f"/videos/{videos[0].uuid}/?playlist={playlist.pk}").status_code == 200


def test_watch_page_related_list_costs_a_constant_number_of_queries(
    client, viewer, uploader, django_assert_num_queries
):
    this = CardFactory(uploader=uploader, title="Case 1")
    client.force_login(viewer)

    for n in (2, 8):
        Video.objects.exclude(pk=this.pk).delete()
        for i in range(n):
            CardFactory(uploader=uploader, title=f"Case {100 + i}")
        html = client.get(f"/videos/{this.uuid}/").content.decode()
        assert html.count("data-card-select") == n
        with django_assert_num_queries(19):  # + chapters and caption tracks (teaching)
            assert client.get(f"/videos/{this.uuid}/").status_code == 200
