"""Domain errors: raised by services, rendered by the one API exception handler.

`detail` is translatable (gettext_lazy at the raise site): it is rendered in the
request's language; `code` never is.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refusal the client can act on; `code` is machine-readable, `detail` human."""

    status = 400
    code = "invalid"
    detail = _("The request cannot be processed.")

    def __init__(self, detail: str | None = None, *, code: str | None = None, **extra):
        self.detail = detail or self.detail
        self.code = code or self.code
        self.extra = extra
        super().__init__(self.detail)


class Invalid(DomainError):
    status = 400


class PaymentRequired(DomainError):
    status = 402
    code = "payment_required"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    detail = _("Not found.")


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"
