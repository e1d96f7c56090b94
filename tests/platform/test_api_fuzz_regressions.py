"""
What the API fuzzer (scripts/fuzz, schemathesis) found, one test each: the request it sent,
and the answer now expected — a documented status, and a body that matches the OpenAPI schema.
"""

import base64
import json

import pytest
import requests
import schemathesis
from drf_spectacular.generators import SchemaGenerator

from accounts import roles
from tests.factories import SurgeonFactory, VideoFactory
from videos.models import Category, Surgeon, Tag, Upload, Video

pytestmark = pytest.mark.django_db

UPLOADS = "/api/v1/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


@pytest.fixture(scope="module")
def openapi():
    return schemathesis.openapi.from_dict(SchemaGenerator(api_version="v1").get_schema(request=None, public=True))


def conforms(openapi, operation: str, response) -> None:
    """Raise unless ``response`` (Django's test client) is what the schema documents for ``operation``."""
    method, path = operation.split(" ", 1)
    request = requests.Request(method, "http://testserver" + response.wsgi_request.get_full_path()).prepare()
    answer = schemathesis.Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.items()},
        content=response.content if not response.streaming else b"".join(response.streaming_content),
        request=request,
        elapsed=0.0,
        verify=False,
    )
    documented = openapi[path][method].definition.raw["responses"]
    assert str(response.status_code) in documented, f"{response.status_code} is not documented for {operation}"
    media_types = documented[str(response.status_code)].get("content", {})
    if media_types:
        media_type = response["Content-Type"].split(";")[0].strip()
        assert media_type in media_types, f"{media_type} is not documented for {response.status_code} of {operation}"
    openapi[path][method].validate_response(answer)  # the body against the schema


# ------------------------------------------------------------------------------ schema mismatches


def test_a_video_without_a_category_matches_the_schema(api, viewer, uploader, openapi):
    """ST108: ``category`` is null for a video with no category; the schema said string."""
    clip = VideoFactory(uploader=uploader)
    api.force_authenticate(viewer)
    response = api.get(f"/api/v1/videos/{clip.uuid}/")
    assert response.status_code == 200 and response.json()["category"] is None
    conforms(openapi, "GET /api/v1/videos/{video_uuid}/", response)
    conforms(openapi, "GET /api/v1/videos/", api.get("/api/v1/videos/"))


@pytest.mark.parametrize("path", ["/api/v1/videos/", "/api/v1/history/", "/api/v1/favorites/", "/api/v1/playlists/"])
def test_a_page_that_does_not_exist_is_a_documented_404(api, viewer, openapi, path):
    """ST103: ``?page=null`` on a paginated list is DRF's 404 "Invalid page.", which was undocumented."""
    api.force_authenticate(viewer)
    response = api.get(path, {"page": "null"})
    assert response.status_code == 404
    conforms(openapi, f"GET {path}", response)


def test_missing_playlist_items_are_a_documented_404(api, viewer, openapi):
    api.force_authenticate(viewer)
    response = api.get("/api/v1/playlists/999999/items/")
    assert response.status_code == 404
    conforms(openapi, "GET /api/v1/playlists/{playlist_id}/items/", response)


def test_a_malformed_search_filter_is_a_documented_400(api, viewer, openapi):
    api.force_authenticate(viewer)
    response = api.get("/api/v1/videos/", {"duration_min": "-1"})
    assert response.status_code == 400 and "duration_min" in response.json()
    conforms(openapi, "GET /api/v1/videos/", response)


@pytest.mark.parametrize("path", ["/api/v1/tags/", "/api/v1/categories/", "/api/v1/surgeons/"])
def test_catalogue_additions_are_documented_as_201_and_403(api, make_user, viewer, openapi, path):
    """ST103: the POSTs answered 201 (documented: 200) and refused viewers with an undocumented 403."""
    api.force_authenticate(viewer)
    refused = api.post(path, {"name": "Robotic"}, format="json")
    assert refused.status_code == 403
    conforms(openapi, f"POST {path}", refused)
    api.force_authenticate(make_user(roles.EDITOR, username="eddie"))
    added = api.post(path, {"name": "Robotic"}, format="json")
    assert added.status_code == 201
    conforms(openapi, f"POST {path}", added)


# ------------------------------------------------------------------------------ real bugs


@pytest.mark.parametrize(
    ("path", "model", "longest"),
    [("/api/v1/tags/", Tag, 60), ("/api/v1/categories/", Category, 80), ("/api/v1/surgeons/", Surgeon, 120)],
)
def test_catalogue_names_longer_than_their_column_are_refused(api, make_user, openapi, path, model, longest):
    """
    ST108: a 119-character tag was stored (SQLite does not enforce VARCHAR lengths) and came back
    longer than the schema allows; PostgreSQL refused the INSERT, a 500.
    """
    api.force_authenticate(make_user(roles.EDITOR, username="eddie"))
    too_long = api.post(path, {"name": "0" * (longest + 1)}, format="json")
    assert too_long.status_code == 400 and "name" in too_long.json()
    conforms(openapi, f"POST {path}", too_long)
    assert not model.objects.exists()
    assert api.post(path, {"name": "0" * longest}, format="json").status_code == 201


def _tus_create(api, **metadata):
    header = ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in metadata.items())
    return api.post(UPLOADS, HTTP_UPLOAD_LENGTH="1000", HTTP_UPLOAD_METADATA=header, **TUS)


def test_tus_metadata_is_checked_when_the_upload_is_created(api, make_user, openapi):
    """
    Upload-Metadata skipped the checks of a multipart upload: an editor's 81-character category
    reached the database only when the last byte arrived (PostgreSQL: a 500, the upload lost).
    Now the metadata is refused before any byte is sent.
    """
    api.force_authenticate(make_user(roles.EDITOR, username="eddie"))
    response = _tus_create(api, filename="case.mp4", category="c" * 81)
    assert response.status_code == 400 and "category" in response.json()
    conforms(openapi, "POST /api/v1/uploads/", response)
    assert _tus_create(api, filename="case.mp4", date_of_surgery="yesterday").status_code == 400
    assert _tus_create(api, filename="case.mp4", surgeons="twelve").status_code == 400
    assert not Upload.objects.exists()
    assert _tus_create(api, filename="case.mp4", category="c" * 80, tags="a,b", surgeons="").status_code == 201


def test_tus_metadata_surgeons_are_comma_separated_ids(api, make_user):
    """``surgeons 12`` meant surgeons 1 and 2 (the string was iterated character by character)."""
    from videos.services.metadata import metadata_clean, metadata_given

    editor = make_user(roles.EDITOR, username="eddie")
    twelve = SurgeonFactory(pk=12, name="Dr Twelve")
    three = SurgeonFactory(pk=3, name="Dr Three")
    given = metadata_given({"surgeons": "12", "tags": "a, b,", "title": "", "filetype": "video/mp4"})
    assert given == {"surgeons": "12", "tags": "a, b,"}
    clean = metadata_clean(user=editor, data=given)
    assert clean["surgeons"] == [(twelve, "primary")]
    assert clean["tags"] == ([], ["a", "b"])
    assert metadata_clean(user=editor, data={"surgeons": f"{twelve.pk}, 3"})["surgeons"] == [
        (twelve, "primary"),
        (three, "primary"),
    ]


@pytest.mark.parametrize("field", ["filename", "title"])
def test_tus_metadata_with_a_nul_character_is_refused(api, uploader, openapi, field):
    """PostgreSQL cannot store NUL in text: a filename or title with one was a 500."""
    api.force_authenticate(uploader)
    metadata = {"filename": "case.mp4", field: ("case\x00.mp4" if field == "filename" else "a\x00b")}
    response = _tus_create(api, **metadata)
    assert response.status_code == 400
    conforms(openapi, "POST /api/v1/uploads/", response)
    assert not Upload.objects.exists()


@pytest.mark.parametrize("name", ["hls/360p/seg_00000.ts", "media/poster.jpg"])
def test_a_missing_segment_or_image_is_a_documented_404(client, uploader, openapi, name):
    """ST105: the fast path (videos.middleware) answers a missing file with a plain-text 404."""
    from videos import delivery

    clip = VideoFactory(uploader=uploader)
    scope = "media" if name.startswith("hls/") else "image"
    token = delivery.sign(scope=scope, video_uuid=clip.uuid, user_id=uploader.pk, ttl=600)
    response = client.get(f"/api/v1/videos/{clip.uuid}/{name}", {"token": token})
    assert response.status_code == 404
    template = "hls/{rung}/{segment}" if scope == "media" else "media/{name}"
    conforms(openapi, f"GET /api/v1/videos/{{video_uuid}}/{template}", response)


@pytest.mark.parametrize("surgeons", [[2**70], [{"id": -11558772043172855808, "role": "assistant"}], [0], "[1e400]"])
def test_a_surgeon_id_out_of_range_is_a_400(api, make_user, uploader, openapi, surgeons):
    """ST101: PATCH with surgeons [-11558772043172855808] — SQLite cannot compare such a number: a 500."""
    clip = VideoFactory(uploader=uploader)
    api.force_authenticate(make_user(roles.ADMIN, username="ada"))
    body = '{"title": "Appendix", "surgeons": %s}' % (surgeons if isinstance(surgeons, str) else json.dumps(surgeons))
    response = api.patch(f"/api/v1/videos/{clip.uuid}/", body, content_type="application/json")
    assert response.status_code == 400 and "surgeons" in response.json()
    conforms(openapi, "PATCH /api/v1/videos/{video_uuid}/", response)


def test_a_video_deleted_while_being_edited_is_a_404(api, make_user, uploader, openapi, monkeypatch):
    """
    ST101: two fuzzing workers sent DELETE and PATCH for one video at the same moment; the PATCH
    found the video, the DELETE removed it, then the service's locking re-read raised DoesNotExist.
    """
    from videos.services import metadata

    clip = VideoFactory(uploader=uploader)
    clean = metadata.metadata_clean

    def deleted_meanwhile(**kwargs):
        Video.objects.filter(pk=clip.pk).delete()
        return clean(**kwargs)

    monkeypatch.setattr(metadata, "metadata_clean", deleted_meanwhile)
    api.force_authenticate(make_user(roles.ADMIN, username="ada"))
    response = api.patch(f"/api/v1/videos/{clip.uuid}/", {"title": "Too late"}, format="json")
    assert response.status_code == 404
    conforms(openapi, "PATCH /api/v1/videos/{video_uuid}/", response)


@pytest.mark.parametrize("value", ["\u00b2", "1" * 5000])
def test_tus_length_headers_that_look_like_numbers_are_a_400(api, uploader, openapi, value):
    """
    ``Upload-Length: ²`` (one Latin-1 byte) passed str.isdigit() and int() refused it: a 500; so
    did 5,000 digits (Python's limit on int() of a string is 4,300).
    """
    api.force_authenticate(uploader)
    header = "filename " + base64.b64encode(b"case.mp4").decode()
    response = api.post(UPLOADS, HTTP_UPLOAD_LENGTH=value, HTTP_UPLOAD_METADATA=header, **TUS)
    assert response.status_code == 400
    conforms(openapi, "POST /api/v1/uploads/", response)


@pytest.mark.parametrize(
    ("setting", "body"),
    [("DATA_UPLOAD_MAX_MEMORY_SIZE", "description=" + "\u00c5" * 600), ("DATA_UPLOAD_MAX_NUMBER_FIELDS", "a=1&" * 20)],
)
def test_a_form_body_over_djangos_limits_is_a_json_400(api, uploader, openapi, settings, setting, body):
    """ST105: a huge urlencoded PATCH body got Django's HTML "Bad Request (400)" page, not JSON."""
    setattr(settings, setting, 10 if setting == "DATA_UPLOAD_MAX_NUMBER_FIELDS" else 1000)
    clip = VideoFactory(uploader=uploader)
    api.force_authenticate(uploader)
    response = api.patch(f"/api/v1/videos/{clip.uuid}/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    conforms(openapi, "PATCH /api/v1/videos/{video_uuid}/", response)


def test_an_upload_discarded_by_another_request_is_a_404(api, uploader, openapi):
    """
    ST101: two fuzzing workers; one request discarded the upload (its file and row) between the
    other PATCH's lookup and its open() of the file: FileNotFoundError, a 500.
    """
    from urllib.parse import urlparse

    api.force_authenticate(uploader)
    created = _tus_create(api, filename="case.mp4")
    upload = Upload.objects.get()
    upload.path.unlink()  # what upload_discard does first
    response = api.generic(
        "PATCH",
        urlparse(created["Location"]).path,
        b"\x00" * 10,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )
    assert response.status_code == 404
    conforms(openapi, "PATCH /api/v1/uploads/{upload_id}/", response)


@pytest.mark.parametrize(
    "params",
    [{"surgeons": "\u00b9"}, {"surgeons": str(2**70)}, {"uploader": "a\x00"}, {"tags": "\x00"}, {"category": "\x00"}],
)
def test_search_filters_no_database_can_compare_are_a_400(api, viewer, openapi, params):
    api.force_authenticate(viewer)
    response = api.get("/api/v1/videos/", params)
    assert response.status_code == 400 and set(params) <= set(response.json())
    conforms(openapi, "GET /api/v1/videos/", response)


def test_options_on_the_replacement_endpoint_describes_it(api, viewer):
    """ST101: OPTIONS on /replacement/ (a GenericAPIView without a serializer_class) was a 500."""
    video = VideoFactory(status=Video.Status.PUBLISHED)
    api.force_authenticate(viewer)
    body = b'--XX\r\nContent-Disposition: form-data; name="file"; filename="file.png"\r\n\r\n\x89PNG\r\n--XX--\r\n'
    response = api.generic(
        "OPTIONS",
        f"/api/v1/videos/{video.uuid}/replacement/",
        body,
        content_type="multipart/form-data; boundary=XX",
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Video Replacement Api"


def test_a_blocked_publish_and_a_held_delete_are_documented_409s(api, openapi, make_user, approver, settings):
    """ST103 (make fuzz as Approver and Admin): 409 from publish (a publish rule) and delete (legal hold) was undocumented."""
    from governance import services as governance

    settings.PUBLISH_REQUIRED_FIELDS = ["category"]
    video = VideoFactory(status=Video.Status.PROCESSED, category=None)
    api.force_authenticate(approver)
    blocked = api.post(f"/api/v1/videos/{video.uuid}/publish/")
    assert blocked.status_code == 409
    conforms(openapi, "POST /api/v1/videos/{video_uuid}/publish/", blocked)
    admin = make_user(roles.ADMIN)
    governance.legal_hold_set(user=admin, video=video, reason="Claim 12")
    api.force_authenticate(admin)
    held = api.delete(f"/api/v1/videos/{video.uuid}/")
    assert held.status_code == 409
    conforms(openapi, "DELETE /api/v1/videos/{video_uuid}/", held)
