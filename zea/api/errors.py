"""One way to render errors under /api/: JSON with `code` and `detail` (+ field errors)."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from zea.errors import DomainError

logger = logging.getLogger(__name__)

_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "detail": exc.detail, **exc.extra}, status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"code": "request_too_large", "detail": "The request body is larger than this API accepts."}, status=413
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": _first_message(exc.detail) or "Invalid input.",
            "errors": exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail},
        }
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = {"code": code or getattr(detail, "code", None) or "error", "detail": str(detail)}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response.data["retry_after"] = int(exc.wait)
    return response


def _first_message(detail):
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            if message:
                return message if key == "non_field_errors" else f"{key}: {message}"
    elif isinstance(detail, list):
        for value in detail:
            message = _first_message(value)
            if message:
                return message
    elif detail:
        return str(detail)
    return None


def _has_nul(request) -> bool:
    try:
        return any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists())
    except UnicodeError:
        return True


def json_error(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status_code)


def api_not_found(request, *args, **kwargs):
    """Unknown paths under /api/ answer JSON like everything else there."""
    return json_error(status.HTTP_404_NOT_FOUND, "not_found", f"No endpoint at {request.path}.")


class ApiErrorMiddleware:
    """Under /api/: refuse query strings PostgreSQL cannot store (NUL characters) before
    any view sees them, and turn unexpected exceptions into a logged JSON 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and _has_nul(request):
            return json_error(400, "invalid", "NUL characters are not allowed in the query string.")
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "server_error", "Something went wrong on our side; it was logged.")
