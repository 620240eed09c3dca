"""Firing timers: one at a time (ETA task) or in bounded batches (the sweeper).

Lock order is always workflow row, then timer row — the same order services use when
they move a workflow and cancel its timers — so firing cannot deadlock with them.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from zea.workflows import dispatch
from zea.workflows.models import Timer
from zea.workflows.registry import workflow_model

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    fired: int = 0
    skipped: int = 0
    failed: int = 0
    enqueued_timers: int = 0
    enqueued_emails: int = 0
    repaired: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def handler_for(model, timer_name: str):
    key = timer_name.split(":", 1)[0]
    return import_string(model.timer_handlers[key])


def fire(
    timer_id: int, *, now: datetime | None = None, tolerance: timedelta = timedelta(0), skip_locked: bool = False
) -> str | None:
    """Fire one timer if it is still pending and due (within `tolerance`); return its outcome."""
    now = now or timezone.now()
    head = Timer.objects.filter(pk=timer_id).values("workflow_type", "execution_id").first()
    if head is None:
        return None
    model = workflow_model(head["workflow_type"])
    with transaction.atomic():
        workflow = model.objects.select_for_update(skip_locked=skip_locked).filter(pk=head["execution_id"]).first()
        if workflow is None:
            return None
        timer = (
            Timer.objects.select_for_update(skip_locked=skip_locked)
            .pending()
            .filter(pk=timer_id, due_at__lte=now + tolerance)
            .first()
        )
        if timer is None:
            return None
        timer.fired_at = now
        timer.outcome = handler_for(model, timer.name)(workflow, timer) or "fired"
        timer.save(update_fields=["fired_at", "outcome"])
        return timer.outcome


def fire_due(*, now: datetime | None = None, batch: int = 500, budget_seconds: float = 20.0) -> SweepResult:
    """Fire every timer due by `now`, oldest first, `batch` per transaction.

    Rows locked by someone else are skipped (their holder is moving them); a handler
    that fails rolls back its own savepoint only and is logged, so one bad timer
    cannot wedge the backlog behind it.
    """
    now = now or timezone.now()
    result = SweepResult()
    deadline = time.monotonic() + budget_seconds
    after = None
    while time.monotonic() < deadline:
        due = Timer.objects.pending().filter(due_at__lte=now).order_by("due_at", "id")
        if after is not None:
            due = due.filter(due_at__gte=after[0]).exclude(due_at=after[0], id__lte=after[1])
        rows = list(due.values_list("id", "due_at")[:batch])
        if not rows:
            break
        with transaction.atomic():
            for timer_id, _ in rows:
                try:
                    outcome = fire(timer_id, now=now, skip_locked=True)
                except Exception:
                    logger.exception("timer %s failed to fire; it stays pending", timer_id)
                    result.failed += 1
                    continue
                if outcome is None:
                    result.skipped += 1
                else:
                    result.fired += 1
        after = (rows[-1][1], rows[-1][0])
    return result


def enqueue_upcoming(*, now: datetime | None = None) -> int:
    """Send ETA tasks for timers due before the next sweep that have none yet."""
    now = now or timezone.now()
    upcoming = list(
        Timer.objects.pending()
        .filter(due_at__gt=now, due_at__lte=now + dispatch.eta_horizon(), enqueued_at__isnull=True)
        .order_by("due_at")
        .values_list("id", "due_at")[:10000]
    )
    sent = [
        pk for pk, due_at in upcoming if dispatch.safe_send("zea.workflows.tasks.fire_timer", args=[pk], eta=due_at)
    ]
    if sent:
        Timer.objects.filter(pk__in=sent).update(enqueued_at=now)
    return len(sent)
