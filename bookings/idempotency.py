"""`Idempotency-Key` for POSTs that create things: a retry gets the first response, nothing twice.

The key row is inserted in the same transaction as the work it guards. A concurrent
retry with the same key blocks on the unique index until the first one ends: if it
committed, the retry replays its response; if it rolled back, the retry does the work.
Refusals (4xx) roll everything back, the key included, so a retry is evaluated afresh.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.response import Response

from bookings.models import IdempotencyKey
from zea.errors import DomainError, Invalid

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


class KeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    detail = _("This Idempotency-Key was already used with a different request.")


def fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _replay(record: IdempotencyKey, digest: str) -> Response:
    if record.fingerprint != digest:
        raise KeyReused()
    return Response(record.body, status=record.status, headers={REPLAYED_HEADER: "true"})


def _live(user, key: str, now: datetime) -> IdempotencyKey | None:
    return (
        IdempotencyKey.objects.filter(user=user, key=key, created_at__gt=now - settings.ZEA_IDEMPOTENCY_TTL)
        .only("fingerprint", "status", "body")
        .first()
    )


def respond_once(request, run: Callable[[], Response]) -> Response:
    """Run `run()` (which returns the response) once per (user, key); without a key, just run it."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return run()
    if len(key) > MAX_KEY_LENGTH:
        raise Invalid(
            _("%(header)s is at most %(limit)s characters.") % {"header": HEADER, "limit": MAX_KEY_LENGTH},
            code="invalid_idempotency_key",
        )
    user, digest, now = request.user, fingerprint(request), timezone.now()
    record = _live(user, key, now)
    if record is not None:
        return _replay(record, digest)
    try:
        with transaction.atomic():
            # An expired key may be reused: its old row goes, in this transaction.
            expired = now - settings.ZEA_IDEMPOTENCY_TTL
            IdempotencyKey.objects.filter(user=user, key=key, created_at__lte=expired).delete()
            record = IdempotencyKey.objects.create(user=user, key=key, fingerprint=digest, status=0, body={})
            response = run()
            record.status, record.body = response.status_code, response.data
            record.save(update_fields=["status", "body"])
            return response
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) != "idempotency_key_unique_per_user":
            raise
    # Lost the race to a concurrent request with the same key, which has committed by now.
    record = _live(user, key, timezone.now())
    if record is None:  # pragma: no cover — it committed and expired in between
        raise KeyReused(_("This Idempotency-Key is being used by another request; retry."))
    return _replay(record, digest)


def prune_expired(*, now: datetime | None = None) -> int:
    """Delete keys older than ZEA_IDEMPOTENCY_TTL; for the sweeper (or a beat task) to call."""
    now = now or timezone.now()
    deleted, _ = IdempotencyKey.objects.filter(created_at__lte=now - settings.ZEA_IDEMPOTENCY_TTL).delete()
    return deleted
