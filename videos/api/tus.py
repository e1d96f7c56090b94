"""
tus 1.0.0 resumable uploads at ``/api/v1/uploads/`` (https://tus.io/protocols/resumable-upload):
core (HEAD, PATCH), creation (POST), termination (DELETE) and expiration.

This view only speaks the protocol: its headers, its status codes, its metadata encoding.
The upload's business — the rules before the first byte, storing bytes at an offset with the
MD5 state (so the hash is done when the last byte lands, whichever worker received which
chunk), sniffing, discarding, completing into a video — is ``videos.services.uploads``'s,
which a multipart upload ends in too. With ``replaces`` (a video's id) in ``Upload-Metadata``
the file becomes that video's new recording instead (issue #15; the owner or an editor, asked
when the upload is created and again when it completes: ``videos.services.replacement``).

Authentication is the API's (JWT or session with CSRF); an upload belongs to its creator,
and anyone else gets 404.
"""

import base64
import re
from email.utils import format_datetime

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from core.api import DetailOutput

from ..models import Upload
from ..services import uploads
from . import serializers as s

TUS_VERSION = "1.0.0"


class TusError(exceptions.APIException):
    def __init__(self, detail, status_code):
        super().__init__(detail)
        self.status_code = status_code


def parse_metadata(header: str) -> dict:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs."""
    metadata = {}
    for pair in filter(None, (part.strip() for part in (header or "").split(","))):
        key, _, encoded = pair.partition(" ")
        if not key or len(key) > 64:
            raise TusError("Malformed Upload-Metadata.", 400)
        try:
            metadata[key] = base64.b64decode(encoded, validate=True).decode() if encoded else ""
        except ValueError:  # binascii.Error, UnicodeDecodeError, or non-ASCII (a Latin-1 header byte)
            raise TusError(f"Upload-Metadata value for “{key}” is not valid base64 UTF-8.", 400) from None
        if "\x00" in metadata[key]:  # PostgreSQL cannot store it in a text column
            raise TusError(f"Upload-Metadata value for “{key}” contains a NUL character.", 400)
    return metadata


_DIGITS = re.compile(r"[0-9]{1,20}")


def _int_header(request, name: str) -> int:
    raw = request.headers.get(name)
    # Not str.isdigit(): it accepts "²" (a Latin-1 header byte), which int() refuses.
    if raw is None or not _DIGITS.fullmatch(raw):
        raise TusError(f"{name} must be a non-negative integer.", 400)
    return int(raw)


# ------------------------------------------------------------------------------ schema

_TUS_RESUMABLE = OpenApiParameter(
    "Tus-Resumable", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, enum=[TUS_VERSION]
)
_TUS_ERRORS = {
    404: OpenApiResponse(DetailOutput, description="No such upload of yours"),
    410: OpenApiResponse(DetailOutput, description="The upload has expired"),
    412: OpenApiResponse(DetailOutput, description=f"Tus-Resumable: {TUS_VERSION} is missing"),
}


def _header(name: str, description: str, *, required: bool = False, schema=OpenApiTypes.STR):
    return OpenApiParameter(name, schema, OpenApiParameter.HEADER, required=required, description=description)


_NON_NEGATIVE = {"type": "integer", "minimum": 0}


class TusView(APIView):
    permission_classes = [IsAuthenticated]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise TusError(f"Tus-Resumable: {TUS_VERSION} is required.", 412)

    def get_permissions(self):
        # OPTIONS is discovery: it reveals nothing about any upload.
        return [] if self.request.method == "OPTIONS" else super().get_permissions()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        response["Cache-Control"] = "no-store"
        if response.status_code == 412:
            response["Tus-Version"] = TUS_VERSION
        return response

    def _upload(self, request, upload_id) -> Upload:
        return uploads.upload_resume(user=request.user, upload_id=upload_id)


class UploadCollectionApi(TusView):
    @extend_schema(exclude=True)
    def options(self, request, *args, **kwargs):
        from django.conf import settings

        response = HttpResponse(status=204)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = "creation,termination,expiration"
        response["Tus-Max-Size"] = str(settings.VIDEO_MAX_UPLOAD_BYTES)
        return response

    @extend_schema(
        operation_id="uploads_create",
        summary="tus creation: start a resumable upload",
        request=None,
        parameters=[
            _TUS_RESUMABLE,
            _header("Upload-Length", "Size of the whole file in bytes.", required=True, schema=_NON_NEGATIVE),
            _header(
                "Upload-Metadata",
                "Comma-separated `key base64(value)` pairs: `filename` (required), and optionally the video's "
                "title, description, transcript, category, tags and surgeons (ids; both comma-separated) and "
                "date_of_surgery, checked like the fields of a multipart upload. Or `replaces` (a video's id, "
                "without those fields): the file becomes the new recording of that video (its owner or an "
                "editor; same id and details, processed again), as `POST /api/v1/videos/{id}/replacement/` does.",
            ),
        ],
        responses={
            201: OpenApiResponse(
                description="Created: `Location` is the upload's URL, `Upload-Offset` is 0, `Upload-Expires` "
                "says until when it can be resumed"
            ),
            400: OpenApiResponse(
                DetailOutput,
                description="Bad headers, a file name or size that is refused, or a `replaces` that is no video "
                "of yours to replace now (the field is named)",
            ),
            403: OpenApiResponse(
                DetailOutput, description="Your role may not upload videos, or may not replace that video's recording"
            ),
            412: _TUS_ERRORS[412],
            413: OpenApiResponse(DetailOutput, description="Larger than the upload limit"),
            507: OpenApiResponse(DetailOutput, description="Larger than the free space on the server"),
        },
    )
    def post(self, request):
        """Creation: ``Upload-Length`` and ``Upload-Metadata`` (``filename`` required)."""
        from django.conf import settings

        if request.headers.get("Upload-Defer-Length"):
            raise TusError("Upload-Defer-Length is not supported; send Upload-Length.", 400)
        length = _int_header(request, "Upload-Length")
        if length > settings.VIDEO_MAX_UPLOAD_BYTES:
            raise TusError(f"The file is larger than the {settings.VIDEO_MAX_UPLOAD_BYTES / 1024**3:g} GiB limit.", 413)
        metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
        filename = metadata.pop("filename", "") or metadata.pop("name", "")
        if not filename:
            raise TusError("Upload-Metadata must include the filename.", 400)
        upload = uploads.upload_start(user=request.user, filename=filename, length=length, metadata=metadata)
        response = HttpResponse(status=201)
        response["Location"] = request.build_absolute_uri(reverse("api:upload", kwargs={"upload_id": upload.pk}))
        response["Upload-Expires"] = format_datetime(upload.expires_at, usegmt=True)
        response["Upload-Offset"] = "0"
        return response


class UploadResourceApi(TusView):
    @extend_schema(exclude=True)
    def head(self, request, upload_id):
        upload = self._upload(request, upload_id)
        response = HttpResponse(status=200)
        response["Upload-Offset"] = str(upload.offset)
        response["Upload-Length"] = str(upload.length)
        response["Upload-Expires"] = format_datetime(upload.expires_at, usegmt=True)
        self._video_headers(response, upload)
        return response

    @extend_schema(
        operation_id="uploads_retrieve",
        summary="Progress of an upload, and the video it became (not part of tus)",
        parameters=[_TUS_RESUMABLE],
        responses={200: s.UploadOutput, **_TUS_ERRORS},
    )
    def get(self, request, upload_id):
        """Not tus: a JSON view of the upload, so a page can learn which video it became."""
        from rest_framework.response import Response

        upload = self._upload(request, upload_id)
        return Response(
            {
                "id": str(upload.pk),
                "filename": upload.filename,
                "offset": upload.offset,
                "length": upload.length,
                "complete": upload.completed_at is not None,
                "video": str(upload.video.uuid) if upload.video else None,
                "duplicate": upload.duplicate,
                "expires": upload.expires_at,
            }
        )

    @extend_schema(
        operation_id="uploads_destroy",
        summary="tus termination: abandon an upload (a completed one is kept)",
        parameters=[_TUS_RESUMABLE],
        responses={204: None, **_TUS_ERRORS},
    )
    def delete(self, request, upload_id):
        upload = self._upload(request, upload_id)
        if upload.completed_at is None:
            uploads.upload_discard(upload=upload)
        return HttpResponse(status=204)

    @extend_schema(
        operation_id="uploads_append",
        summary="tus core: append bytes at Upload-Offset",
        description="The last PATCH turns the file into a video (or the new recording of the one it "
        "`replaces`); `X-Video-Id` then names it.",
        request={"application/offset+octet-stream": OpenApiTypes.BINARY},
        parameters=[
            _TUS_RESUMABLE,
            _header(
                "Upload-Offset", "Where these bytes start: the server's offset.", required=True, schema=_NON_NEGATIVE
            ),
        ],
        responses={
            204: OpenApiResponse(description="Appended; `Upload-Offset` is the new offset"),
            400: OpenApiResponse(
                DetailOutput,
                description="Bad headers, a body longer than Upload-Length, or a "
                "file that is refused (checked on the first bytes and when complete)",
            ),
            403: OpenApiResponse(
                DetailOutput,
                description="Your role may no longer upload videos (or replace the recording the upload `replaces`)",
            ),
            **_TUS_ERRORS,
            409: OpenApiResponse(DetailOutput, description="Upload-Offset does not match, or already complete"),
            415: OpenApiResponse(DetailOutput, description="Content-Type must be application/offset+octet-stream"),
            423: OpenApiResponse(DetailOutput, description="Another request is writing to this upload"),
            507: OpenApiResponse(
                DetailOutput, description="The server's storage is full: the upload keeps its offset, resume later"
            ),
        },
    )
    def patch(self, request, upload_id):
        upload = self._upload(request, upload_id)
        if request.content_type != "application/offset+octet-stream":
            raise TusError("Content-Type must be application/offset+octet-stream.", 415)
        offset = _int_header(request, "Upload-Offset")
        # The WSGI stream: never request.body, which would hold the whole chunk in memory.
        upload = uploads.upload_append(upload=upload, offset=offset, stream=request._request)
        response = HttpResponse(status=204)
        response["Upload-Offset"] = str(upload.offset)
        response["Upload-Expires"] = format_datetime(upload.expires_at, usegmt=True)
        self._video_headers(response, upload)
        return response

    @staticmethod
    def _video_headers(response, upload: Upload) -> None:
        if upload.video_id:
            response["X-Video-Id"] = str(upload.video.uuid)
            response["X-Video-Duplicate"] = "true" if upload.duplicate else "false"
