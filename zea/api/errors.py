"""One way to render errors under /api/: JSON with `code` and `detail` (+ field errors).

`detail` and field messages are rendered in the request's language (see zea.api.i18n);
`code` is never translated.
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
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
        # Lazy messages become text here, in the language active for this request.
        return Response({"code": exc.code, "detail": str(exc.detail), **_text(exc.extra)}, status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"code": "request_too_large", "detail": _("The request body is larger than this API accepts.")}, status=413
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": _first_message(exc.detail) or _("Invalid input."),
            "errors": exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail},
        }
        return response
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = {"code": code or getattr(detail, "code", None) or "error", "detail": str(detail)}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response.data["retry_after"] = int(exc.wait)
    return response


def _text(value):
    """`value` with every lazy (translatable) string in it turned into text."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dict):
        return {key: _text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_text(item) for item in value]
    return value


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
    return json_error(status.HTTP_404_NOT_FOUND, "not_found", _("No endpoint at %(path)s.") % {"path": request.path})


class ApiErrorMiddleware:
    """Under /api/: refuse query strings PostgreSQL cannot store (NUL characters) before
    any view sees them, and turn unexpected exceptions into a logged JSON 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and _has_nul(request):
            return json_error(400, "invalid", _("NUL characters are not allowed in the query string."))
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "server_error", _("Something went wrong on our side; it was logged."))
