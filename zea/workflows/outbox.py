"""Delivering outbox emails: rendered from templates at send time, retried with backoff."""

import logging
import time
from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import cache, lru_cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from zea import rows as sql_rows
from zea.workflows import dispatch
from zea.workflows.models import PENDING_OUTBOX, PENDING_OUTBOX_BY_ID, OutboxMessage

logger = logging.getLogger(__name__)


def redelivery_grace() -> timedelta:
    """A message still unsent this long after it was due is assumed lost in transit."""
    return max(2 * settings.ZEA_SWEEP_INTERVAL, timedelta(seconds=2))


MAX_BACKOFF = timedelta(hours=1)
# Web hosts and workers each read their own clock: an email due within this is due now,
# so a worker a little behind the host that wrote the row does not leave it to the sweeper.
DUE_TOLERANCE = timedelta(seconds=1)


def backoff(attempts: int) -> timedelta:
    return min(settings.ZEA_OUTBOX_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def message_id(message: OutboxMessage) -> str:
    """The same Message-ID on every attempt at one outbox row.

    Delivery is at-least-once (a crash between the send and its commit sends again);
    a stable id lets mail clients and the tests recognise such a repeat as one email.
    The row's creation time keeps ids apart between databases that reuse the same pks.
    """
    domain = _domain_of(settings.DEFAULT_FROM_EMAIL)
    return f"<outbox.{message.pk}.{message.created_at:%Y%m%d%H%M%S%f}@{domain}>"


@lru_cache(maxsize=4)
def _domain_of(address: str) -> str:
    # Parsed once per sender, not once per email: parsing was a tenth of rendering one.
    return parseaddr(address)[1].rpartition("@")[2] or "zea.invalid"


def render(message: OutboxMessage) -> EmailMultiAlternatives:
    context = {**message.context, "site_name": "ZEA Sport"}
    with translation.override(message.language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{message.template}_subject.txt", context).split())
        body = render_to_string(f"{message.template}.txt", context)
        try:
            html = render_to_string(f"{message.template}.html", context)
        except TemplateDoesNotExist:
            html = None
    email = EmailMultiAlternatives(
        subject=subject, body=body, to=message.to, headers={"Message-ID": message_id(message)}
    )
    if html:
        email.attach_alternative(html, "text/html")
    for attachment in message.attachments:
        # `source` names a function that returns the attachment's bytes at send time, so
        # large files are not copied into the outbox.
        content = import_string(attachment["source"])(**attachment.get("args", {}))
        email.attach(attachment["filename"], content, attachment.get("mimetype", "application/octet-stream"))
    return email


def deliver(message_id: int, *, now: datetime | None = None) -> timedelta | None:
    """Send one outbox email if still pending; return the delay before a retry, if any."""
    return deliver_many([message_id], now=now).get(message_id)


def deliver_many(message_ids: list[int], *, now: datetime | None = None) -> dict[int, timedelta]:
    """Send the still-pending emails among these that are due, in one transaction and over
    one connection to the mail server; return the retry delay of each that failed.

    One waiting out the backoff of a failed attempt is left alone: a second way to it (the
    sweeper's re-send, a retry task beside a wake-up) must not spend its attempts early.
    """
    due_by = (now or timezone.now()) + DUE_TOLERANCE
    with transaction.atomic():
        return _send_locked(_lock("ids", [list(message_ids), due_by]), now)


# Emails per transaction when delivering whatever is due.
DUE_BATCH = 100


def deliver_due(
    *, rung_at: float | None = None, batch: int = DUE_BATCH, budget_seconds: float = 20.0
) -> tuple[int, dict[int, timedelta]]:
    """Deliver every email due now, oldest first, `batch` per transaction, until none is
    left; return how many were taken and the retry delay of each that failed.

    What the outbox doorbell wakes (see `dispatch.ring_outbox`): it first waits until
    its `linger()` after `rung_at` (a Unix time), so the commits of that moment go with
    it. Rows another delivery holds are skipped, so two of these share the work.
    """
    if rung_at is not None:
        wait_for = linger().total_seconds()
        wait = min(wait_for, rung_at + wait_for - time.time())  # never longer, whatever the clocks say
        if wait > 0:
            time.sleep(wait)
    dispatch.answer_doorbell()
    taken, retries = 0, {}
    stop_at = time.monotonic() + budget_seconds
    while True:
        with transaction.atomic():
            messages = _lock("due", [timezone.now() + DUE_TOLERANCE, batch])
            retries |= _send_locked(messages, None)
        taken += len(messages)
        if len(messages) < batch:
            _remember(taken)
            return taken, retries
        if time.monotonic() > stop_at:
            _remember(taken)
            dispatch.ring_outbox()  # more is due: let a fresh task go on (time limits, fairness)
            return taken, retries


# A wake-up that took this many emails or more finds the outbox busy: for the next
# BUSY_MEMORY, wake-ups in the same process linger ZEA_OUTBOX_LINGER_BUSY. Each wake-up
# costs the worker about as much as rendering ten emails (Celery's own handling of a
# task, the doorbell, a lock and a commit), so under load a longer linger shares it among
# more of them; when email is quiet (or has been for a second) the short linger keeps
# each one quick. Kept per process (each prefork child its own): a new worker starts quiet.
BUSY_WAKEUP = 10
BUSY_MEMORY = 1.0  # seconds
_busy_until = 0.0  # a Unix time


def _remember(taken: int) -> None:
    global _busy_until
    _busy_until = time.time() + BUSY_MEMORY if taken >= BUSY_WAKEUP else 0.0


def linger() -> timedelta:
    """How long the next wake-up waits after its ring before it reads the outbox. No
    linger (ZEA_OUTBOX_LINGER=0) means none when busy either."""
    quiet = settings.ZEA_OUTBOX_LINGER
    if quiet and time.time() < _busy_until:
        return max(quiet, settings.ZEA_OUTBOX_LINGER_BUSY)
    return quiet


def _send_locked(messages: list[OutboxMessage], now: datetime | None) -> dict[int, timedelta]:
    """Send these locked rows over one mail connection and record each outcome.

    The rows stay locked while sending, so two deliveries of the same message cannot
    both send it; a crash after sending and before commit may send them again
    (at-least-once, with the same Message-ID). A booking's two emails, or a busy
    minute's hundred, cost one lock, one update and one commit.
    """
    retries: dict[int, timedelta] = {}
    if not messages:
        return retries
    sent = []
    mail = get_connection()
    try:
        for message in messages:
            try:
                mail.open()  # once; a no-op while the connection stays open
                mail.send_messages([render(message)])
            except Exception as exc:  # noqa: BLE001 — any failure of the mail server or template
                _close_quietly(mail)  # the next message starts on a fresh connection
                delay = _failed(message, exc, now or timezone.now())
                if delay is not None:
                    retries[message.pk] = delay
            else:
                sent.append(message.pk)
    finally:
        _close_quietly(mail)
    if sent:
        with connection.cursor() as cursor:
            cursor.execute(_sql("sent"), [timezone.now(), sent])
    return retries


# These run for every email the worker sends, so their text is made once rather than
# compiled by the ORM each time (`tests/engine/test_outbox.py` holds them to the ORM).
@cache
def _sql(which: str) -> str:
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    select = f"SELECT {sql_rows.columns(OutboxMessage)} FROM {table} WHERE"
    return {
        # One that failed waits out its backoff; one never tried has none to wait out (and
        # the sweeper's re-send stamps it with its own clock, which may run ahead).
        "ids": f"{select} {PENDING_OUTBOX_BY_ID} AND id = ANY(%s) AND (attempts = 0 OR next_attempt_at <= %s)"
        " ORDER BY id FOR UPDATE SKIP LOCKED",
        # The partial index on pending rows' next_attempt_at serves this.
        "due": f"{select} {PENDING_OUTBOX} AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s"
        " FOR UPDATE SKIP LOCKED",
        "sent": f"UPDATE {table} SET attempts = attempts + 1, sent_at = %s, last_error = '' WHERE id = ANY(%s)",
    }[which]


def _lock(which: str, params: list) -> list[OutboxMessage]:
    """Pending rows, locked (rows someone else holds are skipped)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(which), params)
        return [sql_rows.instance(OutboxMessage, row) for row in cursor.fetchall()]


def _failed(message: OutboxMessage, exc: Exception, now: datetime) -> timedelta | None:
    """Record a failed attempt; the delay before the next one, or None once it gave up."""
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:500]
    if message.attempts >= settings.ZEA_OUTBOX_MAX_ATTEMPTS:
        message.failed_at = now
        delay = None
        logger.error("outbox %s gave up after %s attempts: %s", message.pk, message.attempts, message.last_error)
    else:
        delay = backoff(message.attempts)
        message.next_attempt_at = now + delay
        logger.warning("outbox %s attempt %s failed: %s", message.pk, message.attempts, message.last_error)
    message.save(update_fields=["attempts", "last_error", "failed_at", "next_attempt_at"])
    return delay


def _close_quietly(mail) -> None:
    try:
        mail.close()
    except Exception:  # the emails are sent; a failed QUIT must not undo their rows
        logger.warning("closing the mail connection failed", exc_info=True)


def enqueue_stale(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Re-enqueue pending emails whose delivery is overdue (lost message, failed enqueue)."""
    now = now or timezone.now()
    stale = list(
        OutboxMessage.objects.pending()
        .filter(next_attempt_at__lte=now - redelivery_grace())
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    if stale and dispatch.send_outbox(stale):
        # Not again before the grace passes, even if the worker is slow to get to them.
        OutboxMessage.objects.filter(pk__in=stale).update(next_attempt_at=now)
        return len(stale)
    return 0
