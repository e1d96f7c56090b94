"""
Hostile input through tus: the malformed-media corpus sent as resumable uploads, and generated
header values (hypothesis) on creation and PATCH. Never a 5xx, and nothing is left on disk
that no upload row accounts for (a part file is exactly as long as its saved offset).
"""

import base64
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from tests.videos_helpers import media_files
from videos.models import Upload, Video

pytestmark = pytest.mark.django_db
UPLOADS = "/api/v1/uploads/"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def _meta(filename: str) -> str:
    return f"filename {base64.b64encode(filename.encode()).decode()}"


def _disk_matches_the_rows(django_settings) -> None:
    rows = {str(upload.path): upload for upload in Upload.objects.filter(completed_at__isnull=True)}
    for path in media_files(django_settings):
        if path.parent.name != "uploads":  # a completed upload's original
            assert Video.objects.filter(original_path__endswith=path.name).exists(), f"{path} is left on disk"
            continue
        assert str(path) in rows, f"{path} is left on disk"
        assert path.stat().st_size == rows[str(path)].offset, f"{path} is longer than its saved offset"


@pytest.mark.slow
@pytest.mark.parametrize(
    "sample,filename",
    [
        ("text_as_mp4", "case.mp4"),
        ("png_as_mov", "case.mov"),
        ("truncated", "case.mp4"),
        ("audio_only", "case.mp4"),
        ("playlist_as_mp4", "case.mp4"),
        ("concat_as_mp4", "case.mp4"),
        ("mp4", "case.mkv"),
    ],
)
def test_the_malformed_media_corpus_through_tus_is_400_and_leaves_nothing(
    api, uploader, media, settings, sample, filename
):
    data = getattr(media, sample)().read_bytes()
    api.force_authenticate(uploader)
    created = api.post(UPLOADS, HTTP_UPLOAD_LENGTH=str(len(data)), HTTP_UPLOAD_METADATA=_meta(filename), **TUS)
    assert created.status_code == 201, created.content
    url = urlparse(created["Location"]).path
    response = api.generic(
        "PATCH", url, data, content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0", **TUS
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert not Upload.objects.exists() and not Video.objects.exists()
    assert media_files(settings) == []


_junk = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", " ", "0", "-0", "+5", "1e3", "0x10", "١٢", "²", "9" * 30, "1.0.0", "1.0.0, 0.2.2"]),
)
_header_text = _junk.filter(lambda value: "\n" not in value and "\r" not in value and "\x00" not in value)


@examples(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    length=_header_text,
    metadata=st.one_of(_header_text, st.builds(lambda name: _meta(name), st.text(max_size=300))),
    version=st.sampled_from(["1.0.0", "0.2.2", "", "x"]),
)
def test_generated_creation_headers_never_5xx_and_leave_no_orphans(api, uploader, settings, length, metadata, version):
    api.force_authenticate(uploader)
    headers = {"HTTP_UPLOAD_LENGTH": length, "HTTP_UPLOAD_METADATA": metadata}
    if version:
        headers["HTTP_TUS_RESUMABLE"] = version
    response = api.post(UPLOADS, **headers)
    assert response.status_code < 500, response.content
    if response.status_code != 201:
        assert response.json()["detail"]
    _disk_matches_the_rows(settings)


@pytest.fixture
def open_upload(api, uploader, media):
    data = media.mp4().read_bytes()
    api.force_authenticate(uploader)
    created = api.post(UPLOADS, HTTP_UPLOAD_LENGTH=str(len(data)), HTTP_UPLOAD_METADATA=_meta("case.mp4"), **TUS)
    return urlparse(created["Location"]).path, data


@pytest.mark.slow
@examples(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    offset=_header_text,
    content_type=st.sampled_from(["application/offset+octet-stream", "application/json", "text/plain", ""]),
    cut=st.integers(min_value=0, max_value=70_000),
    extra=st.binary(max_size=64),
)
def test_generated_patch_headers_never_5xx_and_keep_the_file_consistent(
    api, settings, open_upload, offset, content_type, cut, extra
):
    url, data = open_upload
    body = data[:cut] + extra
    response = api.generic("PATCH", url, body, content_type=content_type, HTTP_UPLOAD_OFFSET=offset, **TUS)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response.json()["detail"]
    _disk_matches_the_rows(settings)


@pytest.mark.parametrize("value", ["filename \x80YWJj", "filename YWJj\xe9", "filename //79", "filename \u00b2"])
def test_metadata_that_is_not_ascii_base64_is_400(api, uploader, value):
    """Found by the generated-headers test: a Latin-1 byte in the base64 part raised ValueError, a 500."""
    api.force_authenticate(uploader)
    response = api.post(UPLOADS, HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA=value, **TUS)
    assert response.status_code == 400, response.content
    assert "base64" in response.json()["detail"]
    assert not Upload.objects.exists()
