"""The sweeper: everything the database says is due, whatever Redis remembers."""

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from zea.workflows import outbox, timers
from zea.workflows.registry import workflow_types

logger = logging.getLogger(__name__)


def sweep(*, now: datetime | None = None, budget_seconds: float = 20.0) -> timers.SweepResult:
    """Fire due timers, send ETA tasks for the next interval, re-enqueue stale emails,
    and let each workflow repair what a lost message left half-done."""
    now = now or timezone.now()
    result = timers.fire_due(now=now, batch=settings.ZEA_SWEEP_BATCH, budget_seconds=budget_seconds)
    for model in workflow_types().values():
        # A workflow may name a function that re-drives executions a lost message left stalled.
        if getattr(model, "stall_repair", None):
            result.repaired += import_string(model.stall_repair)(now=now)
    result.enqueued_timers = timers.enqueue_upcoming(now=now)
    result.enqueued_emails = outbox.enqueue_stale(now=now)
    if result.fired or result.failed or result.repaired or result.enqueued_emails:
        logger.info("sweep %s", result.as_dict())
    return result
