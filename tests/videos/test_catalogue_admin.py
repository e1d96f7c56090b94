"""
Curating the catalogue in admin: merging tags, categories and surgeons, bulk tag / category
/ surgeon actions, reject with a reason, the video list (badges, surgeons, constant
queries) and the video form, all through the services in videos/services/ (catalogue,
metadata, review).
"""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import roles
from audit.models import AuditEvent
from library.search import SearchParams, run
from tests.factories import CategoryFactory, SurgeonFactory, TagFactory, VideoFactory, VideoSurgeonFactory
from videos.models import Category, Surgeon, Tag, Video, VideoSurgeon
from videos.services import catalogue

pytestmark = pytest.mark.django_db

VIDEOS = "/admin/videos/video/"


def found(user, q) -> set[str]:
    return {video.title for video in run(user=user, params=SearchParams(q=q))}


def run_action(client, url, action, ids, **data):
    """The two steps of an intermediate-page action: choose it, then confirm the form."""
    first = client.post(url, {"action": action, "_selected_action": ids, "index": 0})
    assert first.status_code == 200, first.content.decode()[:2000]
    second = client.post(url, {"action": action, "_selected_action": ids, "post": "yes", **data})
    return first, second


# ------------------------------------------------------------------------------ merges


def test_merge_surgeons_keeps_one_per_video_with_the_most_significant_role(editor_client, editor, uploader, viewer):
    keep = SurgeonFactory(name="Dr. A Rao", specialty="General surgery")
    other = SurgeonFactory(name="A. Rao", bio="Consultant")
    v1 = VideoFactory(title="Hernia repair", uploader=uploader, status="published", surgeons=[keep])
    v2 = VideoFactory(title="Appendicectomy", uploader=uploader, status="published")
    VideoSurgeonFactory(video=v2, surgeon=other, role="assistant")
    v3 = VideoFactory(title="Whipple", uploader=uploader, status="published")
    VideoSurgeonFactory(video=v3, surgeon=keep, role="assistant")
    VideoSurgeonFactory(video=v3, surgeon=other, role="primary")
    assert found(viewer, "Dr") == {"Hernia repair", "Whipple"}

    first, second = run_action(editor_client, "/admin/videos/surgeon/", "merge", [keep.pk, other.pk], keep=keep.pk)
    page = first.content.decode()
    assert "Merge surgeons" in page and 'name="keep"' in page and 'name="csrfmiddlewaretoken"' in page
    # Each candidate with its usage, most used first (then by name).
    assert re.findall(r'<label for="[^"]+">([^<]+)</label></td>\s*<td class="svl-num">(\d+)</td>', page) == [
        ("A. Rao", "2"),
        ("Dr. A Rao (General surgery)", "2"),
    ]
    assert second.status_code == 302

    assert not Surgeon.objects.filter(pk=other.pk).exists()
    rows = sorted(VideoSurgeon.objects.values_list("video_id", "surgeon_id", "role"))
    assert rows == [(v1.pk, keep.pk, "primary"), (v2.pk, keep.pk, "assistant"), (v3.pk, keep.pk, "primary")]
    keep.refresh_from_db()
    assert (keep.specialty, keep.bio) == ("General surgery", "Consultant")  # blanks filled from the merged row

    event = AuditEvent.objects.get(event="catalogue_merge")
    assert event.actor == editor
    assert event.detail == {
        "model": "surgeon",
        "kept": {"id": keep.pk, "name": "Dr. A Rao"},
        "merged": [{"id": other.pk, "name": "A. Rao"}],
        "videos": 2,
    }
    # Search terms name the kept surgeon only, once per video.
    assert set(Video.objects.values_list("search_terms", flat=True)) == {"Dr. A Rao"}
    assert found(viewer, "Dr") == {"Hernia repair", "Appendicectomy", "Whipple"}


def test_merge_tags_unions_without_duplicates(editor_client, editor, uploader, viewer):
    lap = TagFactory(name="Laparoscopy")
    keyhole = TagFactory(name="Keyhole")
    both = VideoFactory(title="Both", uploader=uploader, status="published", tags=[lap, keyhole])
    only_other = VideoFactory(title="Only the other", uploader=uploader, status="published", tags=[keyhole])
    only_kept = VideoFactory(title="Only the kept", uploader=uploader, status="published", tags=[lap])
    assert found(viewer, "keyhole") == {"Both", "Only the other"}

    _, response = run_action(editor_client, "/admin/videos/tag/", "merge", [lap.pk, keyhole.pk], keep=lap.pk)
    assert response.status_code == 302

    assert list(Tag.objects.values_list("name", flat=True)) == ["Laparoscopy"]
    through = Video.tags.through.objects
    assert sorted(through.values_list("video_id", "tag_id")) == sorted(
        [(both.pk, lap.pk), (only_other.pk, lap.pk), (only_kept.pk, lap.pk)]
    )
    assert AuditEvent.objects.get(event="catalogue_merge").detail == {
        "model": "tag",
        "kept": {"id": lap.pk, "name": "Laparoscopy"},
        "merged": [{"id": keyhole.pk, "name": "Keyhole"}],
        "videos": 2,
    }
    assert found(viewer, "keyhole") == set()
    assert found(viewer, "laparoscopy") == {"Both", "Only the other", "Only the kept"}


def test_merge_categories_moves_the_videos(editor_client, editor, uploader, viewer):
    general = CategoryFactory(name="General surgery")
    abdominal = CategoryFactory(name="Abdominal", description="Belly work")
    colon = CategoryFactory(name="Colorectal")
    v1 = VideoFactory(title="One", uploader=uploader, status="published", category=general)
    v2 = VideoFactory(title="Two", uploader=uploader, status="published", category=abdominal)
    v3 = VideoFactory(title="Three", uploader=uploader, status="published", category=colon)

    _, response = run_action(
        editor_client, "/admin/videos/category/", "merge", [general.pk, abdominal.pk, colon.pk], keep=general.pk
    )
    assert response.status_code == 302
    assert list(Category.objects.values_list("name", flat=True)) == ["General surgery"]
    assert set(Video.objects.values_list("category_id", flat=True)) == {general.pk}
    general.refresh_from_db()
    assert general.description == "Belly work"
    detail = AuditEvent.objects.get(event="catalogue_merge").detail
    assert detail["videos"] == 2 and {item["name"] for item in detail["merged"]} == {"Abdominal", "Colorectal"}
    assert found(viewer, "abdominal") == set()
    assert found(viewer, "general") == {"One", "Two", "Three"}
    assert {v.search_terms for v in Video.objects.filter(pk__in=[v1.pk, v2.pk, v3.pk])} == {"General surgery"}


def test_merge_needs_two_and_a_survivor_among_them(editor_client, editor, uploader):
    a = TagFactory(name="A")
    b = TagFactory(name="B")
    outsider = TagFactory(name="C")
    response = editor_client.post("/admin/videos/tag/", {"action": "merge", "_selected_action": [a.pk], "index": 0})
    assert response.status_code == 302
    assert Tag.objects.count() == 3
    # A survivor outside the selection is a form error, and nothing changes.
    response = editor_client.post(
        "/admin/videos/tag/", {"action": "merge", "_selected_action": [a.pk, b.pk], "post": "yes", "keep": outsider.pk}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["keep"]
    assert Tag.objects.count() == 3
    assert not AuditEvent.objects.filter(event="catalogue_merge").exists()


def test_merge_services_check_permissions(rf, make_user):
    uploader = make_user(roles.VIEWER, roles.UPLOADER)
    keep, other = TagFactory(name="Keep"), TagFactory(name="Other")
    with pytest.raises(PermissionDenied):
        catalogue.merge_tags(user=uploader, keep=keep, others=[other])
    editor = make_user(roles.VIEWER, roles.EDITOR)
    with pytest.raises(ValidationError):
        catalogue.merge_tags(user=editor, keep=keep, others=[keep])
    with pytest.raises(ValidationError):
        catalogue.merge_surgeons(user=editor, keep=SurgeonFactory(name="S"), others=[other])
    assert Tag.objects.count() == 2
    assert catalogue.merge_tags(user=editor, keep=keep, others=[other]) == 0
    assert list(Tag.objects.values_list("name", flat=True)) == ["Keep"]


# ------------------------------------------------------------------------------ bulk actions


def test_bulk_add_tag(editor_client, editor, uploader, viewer):
    tag = TagFactory(name="Teaching")
    has = VideoFactory(title="Has it", uploader=uploader, status="published", tags=[tag])
    lacks = VideoFactory(title="Lacks it", uploader=uploader, status="published")
    first, response = run_action(editor_client, VIDEOS, "add_tag", [has.pk, lacks.pk], tag=tag.pk)
    page = first.content.decode()
    assert 'class="admin-autocomplete' in page and "/admin/autocomplete/" in page
    assert "Has it" in page and "Lacks it" in page
    assert response.status_code == 302
    assert set(tag.videos.values_list("title", flat=True)) == {"Has it", "Lacks it"}
    assert Video.tags.through.objects.filter(tag=tag).count() == 2
    events = AuditEvent.objects.filter(event="video_edit")
    assert [(e.detail["video"], e.detail["fields"], e.detail["bulk"], e.detail["tag"]) for e in events] == [
        (str(lacks.uuid), ["tags"], True, "Teaching")
    ]
    assert found(viewer, "teaching") == {"Has it", "Lacks it"}


def test_bulk_add_tag_requires_a_tag(editor_client, editor, uploader):
    video = VideoFactory(title="Alone", uploader=uploader, status="processed", publishable=False)
    response = editor_client.post(
        VIDEOS, {"action": "add_tag", "_selected_action": [video.pk], "post": "yes", "tag": ""}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"tag": ["This field is required."]}
    assert not video.tags.exists()


def test_bulk_set_category(editor_client, editor, uploader, viewer):
    old = CategoryFactory(name="Old")
    new = CategoryFactory(name="Ophthalmology")
    v1 = VideoFactory(title="One", uploader=uploader, status="published", category=old)
    v2 = VideoFactory(title="Two", uploader=uploader, status="published")
    v3 = VideoFactory(title="Three", uploader=uploader, status="published", category=new)
    _, response = run_action(editor_client, VIDEOS, "set_category", [v1.pk, v2.pk, v3.pk], category=new.pk)
    assert response.status_code == 302
    assert set(Video.objects.values_list("category_id", flat=True)) == {new.pk}
    assert AuditEvent.objects.filter(event="video_edit").count() == 2  # v3 was already there
    assert found(viewer, "ophthalmology") == {"One", "Two", "Three"}
    # A category must be chosen: an empty choice never clears many videos by accident.
    response = editor_client.post(VIDEOS, {"action": "set_category", "_selected_action": [v1.pk], "post": "yes"})
    assert response.status_code == 200 and "category" in response.context["form"].errors
    assert Video.objects.get(pk=v1.pk).category == new
    # The service itself can clear it.
    assert catalogue.set_category(user=editor, videos=[v1], category=None) == 1
    v1.refresh_from_db()
    assert v1.category is None and v1.search_terms == ""


def test_bulk_add_surgeon_keeps_existing_roles(editor_client, editor, uploader, viewer):
    rao = SurgeonFactory(name="Dr Rao")
    credited = VideoFactory(title="Credited", uploader=uploader, status="published", surgeons=[rao])
    fresh = VideoFactory(title="Fresh", uploader=uploader, status="published")
    _, response = run_action(
        editor_client, VIDEOS, "add_surgeon", [credited.pk, fresh.pk], surgeon=rao.pk, role="assistant"
    )
    assert response.status_code == 302
    assert sorted(VideoSurgeon.objects.values_list("video__title", "role")) == [
        ("Credited", "primary"),
        ("Fresh", "assistant"),
    ]
    event = AuditEvent.objects.get(event="video_edit")
    assert event.detail["video"] == str(fresh.uuid) and event.detail["role"] == "assistant"
    assert found(viewer, "rao") == {"Credited", "Fresh"}


def test_bulk_add_surgeon_rejects_unknown_role(editor_client, editor, uploader):
    rao = SurgeonFactory(name="Dr Rao")
    video = VideoFactory(title="Alone", uploader=uploader, status="processed", publishable=False)
    response = editor_client.post(
        VIDEOS,
        {"action": "add_surgeon", "_selected_action": [video.pk], "post": "yes", "surgeon": rao.pk, "role": "boss"},
    )
    assert response.status_code == 200 and "role" in response.context["form"].errors
    assert not VideoSurgeon.objects.exists()


def test_bulk_services_need_the_change_permission(make_user, uploader):
    uploader = make_user(roles.VIEWER, roles.UPLOADER)
    video = VideoFactory(title="Mine", uploader=uploader, status="processed")
    tag = TagFactory(name="T")
    for call in (
        lambda: catalogue.add_tag(user=uploader, videos=[video], tag=tag),
        lambda: catalogue.set_category(user=uploader, videos=[video], category=None),
        lambda: catalogue.add_surgeon(user=uploader, videos=[video], surgeon=SurgeonFactory(name="S")),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert not video.tags.exists()


# ------------------------------------------------------------------------------ reject with a reason


def test_reject_asks_for_a_reason_and_stores_it(approver_client, approver, uploader):
    video = VideoFactory(title="Unclear consent", uploader=uploader, status="processed")
    first = approver_client.post(VIDEOS, {"action": "reject", "_selected_action": [video.pk], "index": 0})
    assert first.status_code == 200
    page = first.content.decode()
    assert '<textarea name="reason"' in page and 'name="post" value="yes"' in page
    assert 'name="csrfmiddlewaretoken"' in page

    empty = approver_client.post(
        VIDEOS, {"action": "reject", "_selected_action": [video.pk], "post": "yes", "reason": "  "}
    )
    assert empty.status_code == 200
    assert empty.context["form"].errors == {"reason": ["This field is required."]}
    video.refresh_from_db()
    assert (video.status, video.review_note) == ("processed", "")
    assert not AuditEvent.objects.filter(event="video_reject").exists()

    done = approver_client.post(
        VIDEOS,
        {"action": "reject", "_selected_action": [video.pk], "post": "yes", "reason": "Patient face visible at 02:10."},
    )
    assert done.status_code == 302
    video.refresh_from_db()
    assert (video.status, video.review_note) == ("rejected", "Patient face visible at 02:10.")
    event = AuditEvent.objects.get(event="video_reject")
    assert (event.actor, event.detail["note"]) == (approver, "Patient face visible at 02:10.")


def test_reject_reports_videos_in_the_wrong_state(approver_client, approver, uploader):
    video = VideoFactory(title="Still queued", uploader=uploader, status="pending")
    response = approver_client.post(
        VIDEOS, {"action": "reject", "_selected_action": [video.pk], "post": "yes", "reason": "No."}, follow=True
    )
    assert "cannot be rejected" in response.content.decode()
    video.refresh_from_db()
    assert video.status == "pending"


# ------------------------------------------------------------------------------ the list and the form


def _fill(uploader, n, start=0):
    tag = TagFactory(name="Lap")
    for i in range(start, start + n):
        video = VideoFactory(
            title=f"Video {i}",
            uploader=uploader,
            status="processed",
            category=CategoryFactory(name=f"Category {i % 4}"),
            tags=[tag],
            surgeons=[SurgeonFactory(name=f"Surgeon {i}a")],
        )
        VideoSurgeonFactory(video=video, surgeon=SurgeonFactory(name=f"Surgeon {i}b"), role="assistant")
        Video.objects.filter(pk=video.pk).update(has_poster=True)


def test_video_list_costs_a_constant_number_of_queries(editor_client, editor, uploader, django_assert_num_queries):
    _fill(uploader, 3)
    with django_assert_num_queries(17):
        response = editor_client.get(VIDEOS)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="svl-thumb"') == 3
    assert "Surgeon 2a, Surgeon 2b" in html
    _fill(uploader, 17, start=3)
    with django_assert_num_queries(17):
        response = editor_client.get(VIDEOS)
    assert response.content.decode().count('class="svl-thumb"') == 20


def test_video_list_badge_css_filters_and_search(editor_client, editor, uploader, make_user):
    rao = SurgeonFactory(name="Dr Rao")
    tag = TagFactory(name="Phaco")
    VideoFactory(title="Cataract", uploader=uploader, status="published", tags=[tag], surgeons=[rao])
    hernia = VideoFactory(title="Hernia", uploader=uploader, status="failed", category=CategoryFactory(name="General"))
    Video.objects.filter(pk=hernia.pk).update(uploader=make_user(roles.VIEWER, roles.UPLOADER, username="other"))
    response = editor_client.get(VIDEOS)
    html = response.content.decode()
    assert '<span class="svl-status svl-status--published">Published</span>' in html
    assert '<span class="svl-status svl-status--failed">Failed</span>' in html
    assert 'href="/static/admin/svl.css"' in html
    assert " style=" not in html.split('id="result_list"')[1].split("</table>")[0]
    filters = {spec.title for spec in response.context["cl"].filter_specs}
    assert {"status", "category", "tags", "surgeons", "uploader", "created at"} <= filters

    def titles(query):
        return [v.title for v in editor_client.get(VIDEOS, query).context["cl"].result_list]

    assert titles({"q": "Rao"}) == ["Cataract"]
    assert titles({"q": "phaco"}) == ["Cataract"]
    assert titles({"surgeons__id__exact": rao.pk}) == ["Cataract"]
    assert titles({"status__exact": "failed"}) == ["Hernia"]


def _change_data(video, **fields):
    data = {
        "title": video.title,
        "description": video.description,
        "transcript": video.transcript,
        "category": video.category_id or "",
        "tags": [tag.pk for tag in video.tags.all()],
        "date_of_surgery": "",
        "video_surgeons-TOTAL_FORMS": "0",
        "video_surgeons-INITIAL_FORMS": "0",
        "renditions-TOTAL_FORMS": "0",
        "renditions-INITIAL_FORMS": "0",
    }
    data.update(fields)
    return data


def test_editor_edits_tags_and_surgeons_through_the_service(editor_client, editor, uploader):
    old = SurgeonFactory(name="Dr Old")
    new = SurgeonFactory(name="Dr New")
    tag = TagFactory(name="Robotic")
    video = VideoFactory(title="Editable", uploader=uploader, status="processed", surgeons=[old], publishable=False)
    row = video.video_surgeons.get()
    page = editor_client.get(f"{VIDEOS}{video.pk}/change/")
    assert page.status_code == 200 and 'name="video_surgeons-0-surgeon"' in page.content.decode()

    response = editor_client.post(
        f"{VIDEOS}{video.pk}/change/",
        _change_data(
            video,
            title="Edited",
            tags=[tag.pk],
            **{
                "video_surgeons-TOTAL_FORMS": "2",
                "video_surgeons-INITIAL_FORMS": "1",
                "video_surgeons-0-id": row.pk,
                "video_surgeons-0-video": video.pk,
                "video_surgeons-0-surgeon": old.pk,
                "video_surgeons-0-role": "primary",
                "video_surgeons-0-DELETE": "on",
                "video_surgeons-1-video": video.pk,
                "video_surgeons-1-surgeon": new.pk,
                "video_surgeons-1-role": "assistant",
            },
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    video.refresh_from_db()
    assert video.title == "Edited"
    assert list(video.tags.values_list("name", flat=True)) == ["Robotic"]
    assert list(video.video_surgeons.values_list("surgeon__name", "role")) == [("Dr New", "assistant")]
    assert video.search_terms == "Robotic · Dr New"
    event = AuditEvent.objects.get(event="video_edit")
    assert (event.actor, event.detail["fields"]) == (editor, ["surgeons", "tags", "title"])


def test_video_form_applies_the_service_rules(editor_client, editor, uploader):
    video = VideoFactory(title="Dated", uploader=uploader, status="processed", publishable=False)
    response = editor_client.post(f"{VIDEOS}{video.pk}/change/", _change_data(video, date_of_surgery="2999-01-01"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["date_of_surgery"] == [
        "The date of surgery cannot be in the future."
    ]
    video.refresh_from_db()
    assert video.date_of_surgery is None
    assert not AuditEvent.objects.filter(event="video_edit").exists()


def test_video_form_shows_technical_fields_read_only(editor_client, editor, uploader):
    video = VideoFactory(title="Tech", uploader=uploader, status="processed")
    Video.objects.filter(pk=video.pk).update(failure_reason="FFmpeg said no", size_bytes=1_500_000)
    html = editor_client.get(f"{VIDEOS}{video.pk}/change/").content.decode()
    assert "FFmpeg said no" in html
    assert "1.4\xa0MB (1,500,000 bytes)" in html
    assert video.md5 in html
    assert "hls_key" not in html


def test_surgeon_list_filters_by_linked_account(staff_client, make_user):
    linked = SurgeonFactory(name="Dr Linked", user=make_user(roles.VIEWER, username="linkeddoc"))
    SurgeonFactory(name="Dr Alone")

    def names(query):
        return [s.name for s in staff_client.get("/admin/videos/surgeon/", query).context["cl"].result_list]

    assert names({"linked": "yes"}) == [linked.name]
    assert names({"linked": "no"}) == ["Dr Alone"]
    assert names({"q": "Alone"}) == ["Dr Alone"]
