"""One error shape for the whole API, so scripts handle every refusal in one place:
`{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"name": ["..."]}}}`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"error": error_body(exc, response.status_code)}
    return response


def error_body(exc: Exception, status_code: int) -> dict:
    detail = getattr(exc, "detail", str(exc))
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            messages = value if isinstance(value, list) else [value]
            fields[key] = [str(message) for message in messages]
        message = "; ".join(f"{key}: {' '.join(msgs)}" for key, msgs in fields.items())
        if list(fields) == ["non_field_errors"]:
            message = " ".join(fields.pop("non_field_errors"))
    elif isinstance(detail, list):
        message = " ".join(str(item) for item in detail)
    else:
        message = str(detail)
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    if fields:
        code = "invalid"
    return {"status": status_code, "code": str(code), "message": message, "fields": fields}


def error_response(
    status_code: int, code: str, message: str, fields: dict | None = None
) -> Response:
    """For views that refuse on their own (a service's refusal, a state conflict)."""
    body = {"status": status_code, "code": code, "message": message, "fields": fields or {}}
    return Response({"error": body}, status=status_code)


CONFLICT = status.HTTP_409_CONFLICT


def invalid(message: str, field: str | None = None) -> exceptions.ValidationError:
    """A service's refusal of bad input as a 400, filed under ``field`` when it names one."""
    return exceptions.ValidationError({field: [message]} if field else [message])


def error_json(exc: exceptions.APIException) -> JsonResponse:
    """The same body from a plain Django view (the agents' machine endpoints, outside DRF)."""
    return JsonResponse({"error": error_body(exc, exc.status_code)}, status=exc.status_code)
