"""
tus 1.0.0 resumable uploads at ``/api/v1/uploads/`` (https://tus.io/protocols/resumable-upload):
core (HEAD, PATCH), creation (POST), termination (DELETE) and expiration.

Bytes stream from the request straight to ``MEDIA_ROOT/uploads/<id>.part`` in 1 MiB reads
(no body is ever held in memory), with the MD5 state saved after every PATCH so the hash
is done when the last byte lands, whichever worker process received which chunk. The
offset is saved even when the connection drops mid-PATCH, so the client resumes from the
last byte written. When the upload completes, the same checks and service as a multipart
upload turn it into a video.

Authentication is the API's (JWT or session with CSRF); an upload belongs to its creator,
and anyone else gets 404.
"""

import base64
import fcntl
import re
from email.utils import format_datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from core.api import DetailOutput

from .. import ingest, services
from ..hashing import ResumableMD5, available, md5_of_file
from ..models import Upload
from . import serializers as s

TUS_VERSION = "1.0.0"
CHUNK = 1024 * 1024


def _write_all(handle, data: bytes) -> None:
    """Write every byte to an unbuffered file (a raw write may take only part)."""
    view = memoryview(data)
    while view:
        view = view[handle.write(view) :]


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


def video_metadata(metadata: dict) -> dict:
    """The video's fields in an upload's metadata, lists (tags, surgeons) split on commas; empty ones left out."""
    fields = {key: value for key, value in metadata.items() if key in services.METADATA_FIELDS and value != ""}
    for key in ("tags", "surgeons"):
        if key in fields:
            fields[key] = [part.strip() for part in fields[key].split(",") if part.strip()]
    return fields


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
        upload = get_object_or_404(Upload, pk=upload_id, user=request.user)
        if upload.is_expired:
            services.upload_discard(upload=upload)
            raise TusError("This upload has expired; start again.", 410)
        return upload


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
                "date_of_surgery, checked like the fields of a multipart upload.",
            ),
        ],
        responses={
            201: OpenApiResponse(
                description="Created: `Location` is the upload's URL, `Upload-Offset` is 0, `Upload-Expires` "
                "says until when it can be resumed"
            ),
            400: OpenApiResponse(DetailOutput, description="Bad headers, or a file name or size that is refused"),
            403: OpenApiResponse(DetailOutput, description="Your role may not upload videos"),
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
        # The rules of a multipart upload's fields, before any byte is sent (the service checks
        # the names against the catalogue again when the upload completes).
        s.VideoMetadataInput(data=video_metadata(metadata)).is_valid(raise_exception=True)
        upload = services.upload_start(
            request=request, user=request.user, filename=filename, length=length, metadata=metadata
        )
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
                "duplicate": bool(upload.metadata.get("_duplicate")),
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
            services.upload_discard(upload=upload)
        return HttpResponse(status=204)

    @extend_schema(
        operation_id="uploads_append",
        summary="tus core: append bytes at Upload-Offset",
        description="The last PATCH turns the file into a video; `X-Video-Id` then names it.",
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
            403: OpenApiResponse(DetailOutput, description="Your role may no longer upload videos"),
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
        if upload.completed_at is not None:
            raise TusError("This upload is already complete.", 409)
        try:
            # Unbuffered, so the saved offset is what reached the disk even when it fills up.
            handle = open(upload.path, "r+b", buffering=0)  # noqa: SIM115 (closed by the with below)
        except FileNotFoundError:  # discarded meanwhile by another request (termination, a refused file)
            raise exceptions.NotFound("No such upload.") from None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TusError("Another request is writing to this upload.", 423) from None
            upload.refresh_from_db()
            if offset != upload.offset:
                raise TusError(f"Upload-Offset {offset} does not match the server's {upload.offset}.", 409)
            written = self._receive(request, upload, handle)
        response = HttpResponse(status=204)
        response["Upload-Offset"] = str(written)
        response["Upload-Expires"] = format_datetime(upload.expires_at, usegmt=True)
        if written == upload.length:
            self._complete(request, upload)
            self._video_headers(response, upload)
        return response

    def _receive(self, request, upload: Upload, handle) -> int:
        """Append the body at the current offset; save offset and hash state whatever happens."""
        stream = request._request  # the WSGI stream: never request.body (that would buffer it)
        digest = ResumableMD5(upload.md5_state) if available() and (upload.md5_state or not upload.offset) else None
        start = position = upload.offset
        handle.seek(position)
        head_checked = position >= ingest.SNIFF_BYTES
        try:
            while position < upload.length:
                chunk = stream.read(min(CHUNK, upload.length - position))
                if not chunk:
                    break
                try:
                    _write_all(handle, chunk)
                except OSError as error:
                    if not services.is_storage_full(error):
                        raise
                    # The offset and hash state stay at the last whole chunk (the part of
                    # this one that landed is cut off below); the client resumes from there.
                    raise TusError(
                        f"The server's storage is full. The upload is kept at byte {position}; "
                        "resume it later, or tell your IT team.",
                        507,
                    ) from None
                if digest is not None:
                    digest.update(chunk)
                position += len(chunk)
                if not head_checked and (position >= ingest.SNIFF_BYTES or position == upload.length):
                    head_checked = True
                    handle.flush()
                    self._sniff(upload, handle)
            if position == upload.length and stream.read(1):
                raise TusError("The request body is longer than Upload-Length.", 400)
        finally:
            handle.flush()
            handle.truncate(position)
            Upload.objects.filter(pk=upload.pk, offset=start).update(
                offset=position, md5_state=digest.state() if digest is not None else None
            )
            upload.offset = position
            upload.md5_state = digest.state() if digest is not None else None
        return position

    def _sniff(self, upload: Upload, handle) -> None:
        handle.seek(0)
        head = handle.read(ingest.SNIFF_BYTES)
        handle.seek(0, 2)
        try:
            ingest.check_sniff(head, ingest.extension_of(upload.filename))
        except ValidationError as error:
            services.upload_discard(upload=upload)
            raise TusError(" ".join(error.messages), 400) from None

    def _complete(self, request, upload: Upload) -> None:
        if upload.md5_state and available():
            md5 = ResumableMD5(upload.md5_state).hexdigest()
        else:
            md5 = md5_of_file(upload.path)
        metadata = video_metadata(upload.metadata)
        try:
            video = services.video_create_from_file(
                request=request,
                user=request.user,
                path=upload.path,
                filename=upload.filename,
                md5=md5,
                size=upload.length,
                metadata=metadata,
            )
            duplicate = False
        except services.DuplicateVideo as duplicate_of:
            video, duplicate = duplicate_of.video, True
        except ValidationError as error:
            Upload.objects.filter(pk=upload.pk).delete()
            messages = error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
            raise exceptions.ValidationError(messages) from None
        except Exception:
            Upload.objects.filter(pk=upload.pk).delete()
            raise
        with transaction.atomic():
            upload.completed_at = timezone.now()
            upload.video = video
            upload.metadata = {**upload.metadata, "_duplicate": duplicate}
            upload.md5_state = None
            upload.save(update_fields=["completed_at", "video", "metadata", "md5_state"])

    @staticmethod
    def _video_headers(response, upload: Upload) -> None:
        if upload.video_id:
            response["X-Video-Id"] = str(upload.video.uuid)
            response["X-Video-Duplicate"] = "true" if upload.metadata.get("_duplicate") else "false"
