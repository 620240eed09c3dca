"""Delivering outbox emails: rendered from templates at send time, retried with backoff."""

import logging
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from zea.workflows import dispatch
from zea.workflows.models import OutboxMessage

logger = logging.getLogger(__name__)


def redelivery_grace() -> timedelta:
    """A message still unsent this long after it was due is assumed lost in transit."""
    return max(2 * settings.ZEA_SWEEP_INTERVAL, timedelta(seconds=2))


MAX_BACKOFF = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    return min(settings.ZEA_OUTBOX_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def message_id(message: OutboxMessage) -> str:
    """The same Message-ID on every attempt at one outbox row.

    Delivery is at-least-once (a crash between the send and its commit sends again);
    a stable id lets mail clients and the tests recognise such a repeat as one email.
    The row's creation time keeps ids apart between databases that reuse the same pks.
    """
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "zea.invalid"
    return f"<outbox.{message.pk}.{message.created_at:%Y%m%d%H%M%S%f}@{domain}>"


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
    """Send one outbox email if still pending; return the delay before a retry, if any.

    The row stays locked while sending, so two deliveries of the same message cannot
    both send it; a crash after sending and before commit may send it twice (at-least-once).
    """
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update(skip_locked=True).pending().filter(pk=message_id).first()
        if message is None:
            return None
        message.attempts += 1
        try:
            render(message).send()
        except Exception as exc:  # noqa: BLE001 — any failure of the mail server or template
            now = now or timezone.now()
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if message.attempts >= settings.ZEA_OUTBOX_MAX_ATTEMPTS:
                message.failed_at = now
                delay = None
                logger.error(
                    "outbox %s gave up after %s attempts: %s", message.pk, message.attempts, message.last_error
                )
            else:
                delay = backoff(message.attempts)
                message.next_attempt_at = now + delay
                logger.warning("outbox %s attempt %s failed: %s", message.pk, message.attempts, message.last_error)
            message.save(update_fields=["attempts", "last_error", "failed_at", "next_attempt_at"])
            return delay
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["attempts", "sent_at", "last_error"])
        return None


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
