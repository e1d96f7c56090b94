"""
Curating the catalogue in admin: merging tags, categories and surgeons, bulk tag / category
/ surgeon actions, reject with a reason, the video list (badges, surgeons, constant
queries) and the video form, all through the services in videos/services/ (catalogue,
metadata, review).
"""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import roles
from audit.models import AuditEvent
from library.search import SearchParams, run
from videos.models import Category, Surgeon, Tag, Video, VideoSurgeon
from videos.services import catalogue

from .test_admin_accounts import otp_session

pytestmark = pytest.mark.django_db

VIDEOS = "/admin/videos/video/"


def staff(make_user, client, role):
    user = make_user(*roles.ROLES[: roles.ROLES.index(role) + 1], username=role.lower())
    otp_session(client, user)
    return user


@pytest.fixture
def editor(make_user, client):
    return staff(make_user, client, roles.EDITOR)


@pytest.fixture
def approver(make_user, client):
    return staff(make_user, client, roles.APPROVER)


@pytest.fixture
def make_video(uploader):
    counter = iter(range(1, 10_000))

    def make(title, *, status="processed", category=None, tags=(), surgeons=()):
        n = next(counter)
        video = Video.objects.create(
            uploader=uploader, title=title, md5=f"{n:032x}", size_bytes=n, status=status, category=category
        )
        video.tags.set(tags)
        for surgeon, role in surgeons:
            VideoSurgeon.objects.create(video=video, surgeon=surgeon, role=role)
        video.refresh_from_db()
        return video

    return make


def found(user, q) -> set[str]:
    return {video.title for video in run(user=user, params=SearchParams(q=q))}


def run_action(client, url, action, ids, **data):
    """The two steps of an intermediate-page action: choose it, then confirm the form."""
    first = client.post(url, {"action": action, "_selected_action": ids, "index": 0})
    assert first.status_code == 200, first.content.decode()[:2000]
    second = client.post(url, {"action": action, "_selected_action": ids, "post": "yes", **data})
    return first, second


# ------------------------------------------------------------------------------ merges


def test_merge_surgeons_keeps_one_per_video_with_the_most_significant_role(client, editor, make_video, viewer):
    keep = Surgeon.objects.create(name="Dr. A Rao", specialty="General surgery")
    other = Surgeon.objects.create(name="A. Rao", bio="Consultant")
    v1 = make_video("Hernia repair", status="published", surgeons=[(keep, "primary")])
    v2 = make_video("Appendicectomy", status="published", surgeons=[(other, "assistant")])
    v3 = make_video("Whipple", status="published", surgeons=[(keep, "assistant"), (other, "primary")])
    assert found(viewer, "Dr") == {"Hernia repair", "Whipple"}

    first, second = run_action(client, "/admin/videos/surgeon/", "merge", [keep.pk, other.pk], keep=keep.pk)
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


def test_merge_tags_unions_without_duplicates(client, editor, make_video, viewer):
    lap = Tag.objects.create(name="Laparoscopy")
    keyhole = Tag.objects.create(name="Keyhole")
    both = make_video("Both", status="published", tags=[lap, keyhole])
    only_other = make_video("Only the other", status="published", tags=[keyhole])
    only_kept = make_video("Only the kept", status="published", tags=[lap])
    assert found(viewer, "keyhole") == {"Both", "Only the other"}

    _, response = run_action(client, "/admin/videos/tag/", "merge", [lap.pk, keyhole.pk], keep=lap.pk)
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


def test_merge_categories_moves_the_videos(client, editor, make_video, viewer):
    general = Category.objects.create(name="General surgery")
    abdominal = Category.objects.create(name="Abdominal", description="Belly work")
    colon = Category.objects.create(name="Colorectal")
    v1 = make_video("One", status="published", category=general)
    v2 = make_video("Two", status="published", category=abdominal)
    v3 = make_video("Three", status="published", category=colon)

    _, response = run_action(
        client, "/admin/videos/category/", "merge", [general.pk, abdominal.pk, colon.pk], keep=general.pk
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


def test_merge_needs_two_and_a_survivor_among_them(client, editor, make_video):
    a = Tag.objects.create(name="A")
    b = Tag.objects.create(name="B")
    outsider = Tag.objects.create(name="C")
    response = client.post("/admin/videos/tag/", {"action": "merge", "_selected_action": [a.pk], "index": 0})
    assert response.status_code == 302
    assert Tag.objects.count() == 3
    # A survivor outside the selection is a form error, and nothing changes.
    response = client.post(
        "/admin/videos/tag/", {"action": "merge", "_selected_action": [a.pk, b.pk], "post": "yes", "keep": outsider.pk}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["keep"]
    assert Tag.objects.count() == 3
    assert not AuditEvent.objects.filter(event="catalogue_merge").exists()


def test_merge_services_check_permissions(rf, make_user):
    uploader = make_user(roles.VIEWER, roles.UPLOADER)
    keep, other = Tag.objects.create(name="Keep"), Tag.objects.create(name="Other")
    with pytest.raises(PermissionDenied):
        catalogue.merge_tags(user=uploader, keep=keep, others=[other])
    editor = make_user(roles.VIEWER, roles.EDITOR)
    with pytest.raises(ValidationError):
        catalogue.merge_tags(user=editor, keep=keep, others=[keep])
    with pytest.raises(ValidationError):
        catalogue.merge_surgeons(user=editor, keep=Surgeon.objects.create(name="S"), others=[other])
    assert Tag.objects.count() == 2
    assert catalogue.merge_tags(user=editor, keep=keep, others=[other]) == 0
    assert list(Tag.objects.values_list("name", flat=True)) == ["Keep"]


# ------------------------------------------------------------------------------ bulk actions


def test_bulk_add_tag(client, editor, make_video, viewer):
    tag = Tag.objects.create(name="Teaching")
    has = make_video("Has it", status="published", tags=[tag])
    lacks = make_video("Lacks it", status="published")
    first, response = run_action(client, VIDEOS, "add_tag", [has.pk, lacks.pk], tag=tag.pk)
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


def test_bulk_add_tag_requires_a_tag(client, editor, make_video):
    video = make_video("Alone")
    response = client.post(VIDEOS, {"action": "add_tag", "_selected_action": [video.pk], "post": "yes", "tag": ""})
    assert response.status_code == 200
    assert response.context["form"].errors == {"tag": ["This field is required."]}
    assert not video.tags.exists()


def test_bulk_set_category(client, editor, make_video, viewer):
    old = Category.objects.create(name="Old")
    new = Category.objects.create(name="Ophthalmology")
    v1 = make_video("One", status="published", category=old)
    v2 = make_video("Two", status="published")
    v3 = make_video("Three", status="published", category=new)
    _, response = run_action(client, VIDEOS, "set_category", [v1.pk, v2.pk, v3.pk], category=new.pk)
    assert response.status_code == 302
    assert set(Video.objects.values_list("category_id", flat=True)) == {new.pk}
    assert AuditEvent.objects.filter(event="video_edit").count() == 2  # v3 was already there
    assert found(viewer, "ophthalmology") == {"One", "Two", "Three"}
    # A category must be chosen: an empty choice never clears many videos by accident.
    response = client.post(VIDEOS, {"action": "set_category", "_selected_action": [v1.pk], "post": "yes"})
    assert response.status_code == 200 and "category" in response.context["form"].errors
    assert Video.objects.get(pk=v1.pk).category == new
    # The service itself can clear it.
    assert catalogue.set_category(user=editor, videos=[v1], category=None) == 1
    v1.refresh_from_db()
    assert v1.category is None and v1.search_terms == ""


def test_bulk_add_surgeon_keeps_existing_roles(client, editor, make_video, viewer):
    rao = Surgeon.objects.create(name="Dr Rao")
    credited = make_video("Credited", status="published", surgeons=[(rao, "primary")])
    fresh = make_video("Fresh", status="published")
    _, response = run_action(client, VIDEOS, "add_surgeon", [credited.pk, fresh.pk], surgeon=rao.pk, role="assistant")
    assert response.status_code == 302
    assert sorted(VideoSurgeon.objects.values_list("video__title", "role")) == [
        ("Credited", "primary"),
        ("Fresh", "assistant"),
    ]
    event = AuditEvent.objects.get(event="video_edit")
    assert event.detail["video"] == str(fresh.uuid) and event.detail["role"] == "assistant"
    assert found(viewer, "rao") == {"Credited", "Fresh"}


def test_bulk_add_surgeon_rejects_unknown_role(client, editor, make_video):
    rao = Surgeon.objects.create(name="Dr Rao")
    video = make_video("Alone")
    response = client.post(
        VIDEOS,
        {"action": "add_surgeon", "_selected_action": [video.pk], "post": "yes", "surgeon": rao.pk, "role": "boss"},
    )
    assert response.status_code == 200 and "role" in response.context["form"].errors
    assert not VideoSurgeon.objects.exists()


def test_bulk_services_need_the_change_permission(make_user, make_video):
    uploader = make_user(roles.VIEWER, roles.UPLOADER)
    video = make_video("Mine")
    tag = Tag.objects.create(name="T")
    for call in (
        lambda: catalogue.add_tag(user=uploader, videos=[video], tag=tag),
        lambda: catalogue.set_category(user=uploader, videos=[video], category=None),
        lambda: catalogue.add_surgeon(user=uploader, videos=[video], surgeon=Surgeon.objects.create(name="S")),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert not video.tags.exists()


# ------------------------------------------------------------------------------ reject with a reason


def test_reject_asks_for_a_reason_and_stores_it(client, approver, make_video):
    video = make_video("Unclear consent")
    first = client.post(VIDEOS, {"action": "reject", "_selected_action": [video.pk], "index": 0})
    assert first.status_code == 200
    page = first.content.decode()
    assert '<textarea name="reason"' in page and 'name="post" value="yes"' in page
    assert 'name="csrfmiddlewaretoken"' in page

    empty = client.post(VIDEOS, {"action": "reject", "_selected_action": [video.pk], "post": "yes", "reason": "  "})
    assert empty.status_code == 200
    assert empty.context["form"].errors == {"reason": ["This field is required."]}
    video.refresh_from_db()
    assert (video.status, video.review_note) == ("processed", "")
    assert not AuditEvent.objects.filter(event="video_reject").exists()

    done = client.post(
        VIDEOS,
        {"action": "reject", "_selected_action": [video.pk], "post": "yes", "reason": "Patient face visible at 02:10."},
    )
    assert done.status_code == 302
    video.refresh_from_db()
    assert (video.status, video.review_note) == ("rejected", "Patient face visible at 02:10.")
    event = AuditEvent.objects.get(event="video_reject")
    assert (event.actor, event.detail["note"]) == (approver, "Patient face visible at 02:10.")


def test_reject_reports_videos_in_the_wrong_state(client, approver, make_video):
    video = make_video("Still queued", status="pending")
    response = client.post(
        VIDEOS, {"action": "reject", "_selected_action": [video.pk], "post": "yes", "reason": "No."}, follow=True
    )
    assert "cannot be rejected" in response.content.decode()
    video.refresh_from_db()
    assert video.status == "pending"


# ------------------------------------------------------------------------------ the list and the form


def _fill(make_video, n, start=0):
    tag = Tag.objects.get_or_create(name="Lap")[0]
    for i in range(start, start + n):
        category = Category.objects.get_or_create(name=f"Category {i % 4}")[0]
        video = make_video(
            f"Video {i}",
            category=category,
            tags=[tag],
            surgeons=[
                (Surgeon.objects.create(name=f"Surgeon {i}a"), "primary"),
                (Surgeon.objects.create(name=f"Surgeon {i}b"), "assistant"),
            ],
        )
        Video.objects.filter(pk=video.pk).update(has_poster=True)


def test_video_list_costs_a_constant_number_of_queries(client, editor, make_video, django_assert_num_queries):
    _fill(make_video, 3)
    with CaptureQueriesContext(connection) as small:
        response = client.get(VIDEOS)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="svl-thumb"') == 3
    assert "Surgeon 2a, Surgeon 2b" in html
    _fill(make_video, 17, start=3)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(VIDEOS)
    assert response.content.decode().count('class="svl-thumb"') == 20


def test_video_list_badge_css_filters_and_search(client, editor, make_video, make_user):
    rao = Surgeon.objects.create(name="Dr Rao")
    tag = Tag.objects.create(name="Phaco")
    make_video("Cataract", status="published", tags=[tag], surgeons=[(rao, "primary")])
    hernia = make_video("Hernia", status="failed", category=Category.objects.create(name="General"))
    Video.objects.filter(pk=hernia.pk).update(uploader=make_user(roles.VIEWER, roles.UPLOADER, username="other"))
    response = client.get(VIDEOS)
    html = response.content.decode()
    assert '<span class="svl-status svl-status--published">Published</span>' in html
    assert '<span class="svl-status svl-status--failed">Failed</span>' in html
    assert 'href="/static/admin/svl.css"' in html
    assert " style=" not in html.split('id="result_list"')[1].split("</table>")[0]
    filters = {spec.title for spec in response.context["cl"].filter_specs}
    assert {"status", "category", "tags", "surgeons", "uploader", "created at"} <= filters

    def titles(query):
        return [v.title for v in client.get(VIDEOS, query).context["cl"].result_list]

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


def test_editor_edits_tags_and_surgeons_through_the_service(client, editor, make_video):
    old = Surgeon.objects.create(name="Dr Old")
    new = Surgeon.objects.create(name="Dr New")
    tag = Tag.objects.create(name="Robotic")
    video = make_video("Editable", surgeons=[(old, "primary")])
    row = video.video_surgeons.get()
    page = client.get(f"{VIDEOS}{video.pk}/change/")
    assert page.status_code == 200 and 'name="video_surgeons-0-surgeon"' in page.content.decode()

    response = client.post(
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


def test_video_form_applies_the_service_rules(client, editor, make_video):
    video = make_video("Dated")
    response = client.post(f"{VIDEOS}{video.pk}/change/", _change_data(video, date_of_surgery="2999-01-01"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["date_of_surgery"] == [
        "The date of surgery cannot be in the future."
    ]
    video.refresh_from_db()
    assert video.date_of_surgery is None
    assert not AuditEvent.objects.filter(event="video_edit").exists()


def test_video_form_shows_technical_fields_read_only(client, editor, make_video):
    video = make_video("Tech")
    Video.objects.filter(pk=video.pk).update(failure_reason="FFmpeg said no", size_bytes=1_500_000)
    html = client.get(f"{VIDEOS}{video.pk}/change/").content.decode()
    assert "FFmpeg said no" in html
    assert "1.4\xa0MB (1,500,000 bytes)" in html
    assert video.md5 in html
    assert "hls_key" not in html


def test_surgeon_list_filters_by_linked_account(client, make_user):
    staff(make_user, client, roles.ADMIN)
    linked = Surgeon.objects.create(name="Dr Linked", user=make_user(roles.VIEWER, username="linkeddoc"))
    Surgeon.objects.create(name="Dr Alone")

    def names(query):
        return [s.name for s in client.get("/admin/videos/surgeon/", query).context["cl"].result_list]

    assert names({"linked": "yes"}) == [linked.name]
    assert names({"linked": "no"}) == ["Dr Alone"]
    assert names({"q": "Alone"}) == ["Dr Alone"]
