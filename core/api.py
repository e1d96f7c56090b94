"""
API-wide plumbing: one exception handler so every error is ``{"detail": ...}`` (plus field
errors). Services' Django exceptions become 400/403/404; a ``core.errors.Refused`` answers with
its own status, code and ``Retry-After`` (lockouts and rate limits 429, a quota 413); a full
disk is a 507 that says so.
"""

import logging

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import Refused, is_storage_full

logger = logging.getLogger(__name__)
STORAGE_FULL = "The server's storage is full. Nothing you sent was lost; try again later or tell your IT team."


class DetailOutput(serializers.Serializer):
    """Every error body (and some confirmations): ``{"detail": "..."}``."""

    detail = serializers.CharField()


def exception_handler(exc, context):
    if is_storage_full(exc):
        logger.error("media storage full", extra={"view": context["view"].__class__.__name__})
        return Response({"detail": getattr(exc, "message", STORAGE_FULL)}, status=status.HTTP_507_INSUFFICIENT_STORAGE)
    if isinstance(exc, Refused):
        body = {"detail": exc.message, **({"code": exc.code} if exc.code else {})}
        response = Response(body, status=exc.status)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        # Django's limits on a form body (DATA_UPLOAD_MAX_*), met while parsing request.data:
        # a 400 in JSON like every other API error, not Django's HTML "Bad Request" page.
        exc = exceptions.ParseError(
            "The request body is too large."
            if isinstance(exc, RequestDataTooBig)
            else "The request has too many fields."
        )
    elif isinstance(exc, ObjectDoesNotExist):
        # The object was there when the view looked it up and gone when a service locked it
        # (deleted meanwhile by another request): the same 404 as if it had never existed.
        exc = exceptions.NotFound()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, list):
        response.data = {"detail": " ".join(str(item) for item in data)}
    elif isinstance(data, dict) and "detail" not in data:
        non_field = data.pop("non_field_errors", None)
        response.data = {"detail": " ".join(non_field) if non_field else "Invalid input.", **data}
    return response
