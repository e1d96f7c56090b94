"""
The OpenAPI schema (/api/v1/schema/, drf-spectacular) is complete and clean: it generates with
no warning and validates, every URL under /api/v1/ is in it with every method its view answers,
and what scripts/fuzz relies on (documented 404s, search parameters) is there.
"""

import re

import pytest
import yaml
from django.contrib.admindocs.views import extract_views_from_urlpatterns, simplify_regex
from django.core.management import call_command
from django.urls import get_resolver
from drf_spectacular.generators import SchemaGenerator

# The schema and its Swagger UI describe the API; they are not part of it.
META = {"/api/v1/schema/", "/api/v1/docs/"}
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator(api_version="v1").get_schema(request=None, public=True)


def api_urls() -> dict[str, object]:
    """Every URL under /api/v1/ as an OpenAPI path template, with its view."""
    urls = {}
    for view, regex, _namespace, _name in extract_views_from_urlpatterns(get_resolver().url_patterns):
        path = simplify_regex(regex)
        if path.startswith("/api/v1/") and path not in META:
            urls[re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)] = view
    return urls


def test_spectacular_validates_with_no_warning_or_error(tmp_path, capsys):
    target = tmp_path / "schema.yaml"
    # --fail-on-warn: any warning or error of drf-spectacular (an unresolvable serializer, a
    # path parameter of unknown type, a name collision...) makes the command fail.
    call_command("spectacular", "--validate", "--fail-on-warn", "--api-version", "v1", "--file", str(target))
    captured = capsys.readouterr()
    assert "warning" not in captured.err.lower() and "error" not in captured.err.lower(), captured.err
    assert yaml.safe_load(target.read_text())["paths"]


def test_every_api_url_is_in_the_schema(schema):
    urls = api_urls()
    assert len(urls) > 30  # the walk found the API (tus, media, library, auth...)
    missing = sorted(set(urls) - set(schema["paths"]))
    assert not missing, f"URLs under /api/v1/ missing from the schema: {missing}"
    stale = sorted(set(schema["paths"]) - set(urls))
    assert not stale, f"schema paths with no URL: {stale}"


def test_every_method_a_view_answers_is_in_the_schema(schema):
    for path, view in api_urls().items():
        cls = getattr(view, "cls", None)
        assert cls is not None, f"{path}: not a DRF view and not described for the schema (see videos.api.views)"
        answered = {method.lower() for method in cls().allowed_methods} & METHODS
        documented = set(schema["paths"][path]) & METHODS
        assert answered == documented, f"{path}: answers {sorted(answered)}, documents {sorted(documented)}"


def test_operations_with_path_parameters_document_404(schema):
    for path, operations in schema["paths"].items():
        if "{" not in path:
            continue
        for method, operation in operations.items():
            if method in METHODS:
                assert "404" in operation["responses"], f"{method.upper()} {path} does not document 404"


def test_operation_ids_are_unique(schema):
    ids = [op["operationId"] for ops in schema["paths"].values() for m, op in ops.items() if m in METHODS]
    assert len(ids) == len(set(ids))


def test_video_search_documents_its_parameters_and_envelope(schema):
    operation = schema["paths"]["/api/v1/videos/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"q", "tags", "tags_mode", "surgeons", "category", "duration_min", "status", "ordering", "page"} <= names
    assert {"200", "400", "404"} <= set(operation["responses"])
    page = schema["components"]["schemas"]["VideoPageOutput"]["properties"]
    assert {"count", "next", "previous", "results", "facets"} <= set(page)


def test_tus_and_media_endpoints_are_described(schema):
    paths = schema["paths"]
    assert {"post"} <= set(paths["/api/v1/uploads/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/uploads/{upload_id}/"])
    patch = paths["/api/v1/uploads/{upload_id}/"]["patch"]
    assert "application/offset+octet-stream" in patch["requestBody"]["content"]
    headers = {p["name"] for p in patch["parameters"] if p["in"] == "header"}
    assert {"Tus-Resumable", "Upload-Offset"} <= headers
    segment = paths["/api/v1/videos/{video_uuid}/hls/{rung}/{segment}"]["get"]
    assert "video/mp2t" in segment["responses"]["200"]["content"]
    assert "text/plain" in segment["responses"]["401"]["content"]
