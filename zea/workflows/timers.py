"""Firing timers: one at a time (ETA task) or in bounded batches (the sweeper).

Lock order is always workflow row, then timer row — the same order services use when
they move a workflow and cancel its timers — so firing cannot deadlock with them.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from zea.workflows import dispatch, engine
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


# What the sweeper reads of each due timer (a named row; bulk handlers get these).
DUE_COLUMNS = ("pk", "workflow_type", "name", "execution_id", "due_at")


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
        # A handler that ends the workflow cancels its pending timers, this one among
        # them; that cancel is the firing's own effect, so the timer is fired, not both.
        timer.cancelled_at = None
        timer.save(update_fields=["fired_at", "cancelled_at", "outcome"])
        return timer.outcome


def fire_due(*, now: datetime | None = None, batch: int = 500, budget_seconds: float = 20.0) -> SweepResult:
    """Fire every timer due by `now`, oldest first, `batch` per transaction.

    Nothing here waits on a lock (SKIP LOCKED throughout), so a sweep can never
    deadlock with a request: rows someone else holds are skipped and picked up by the
    next sweep. Workflows with a bulk handler fire a whole batch in a few queries.
    """
    now = now or timezone.now()
    result = SweepResult()
    stop_at = time.monotonic() + budget_seconds
    after = None
    while time.monotonic() < stop_at:
        with transaction.atomic():
            due = Timer.objects.pending().filter(due_at__lte=now).order_by("due_at", "id")
            if after is not None:
                due = due.filter(due_at__gte=after[0]).exclude(due_at=after[0], id__lte=after[1])
            # Rows of what firing needs, not Timer instances: after an outage a sweep reads
            # a hundred thousand of them, and an instance parses five timestamps.
            timers = list(due.select_for_update(skip_locked=True).values_list(*DUE_COLUMNS, named=True)[:batch])
            if not timers:
                break
            _fire_batch(timers, now, result)
        after = (timers[-1].due_at, timers[-1].pk)
    return result


def _fire_batch(timers: list, now: datetime, result: SweepResult) -> None:
    groups: dict[tuple[str, str], list] = {}
    for timer in timers:
        groups.setdefault((timer.workflow_type, timer.name.split(":", 1)[0]), []).append(timer)
    for (workflow_type, key), group in groups.items():
        model = workflow_model(workflow_type)
        bulk = getattr(model, "bulk_timer_handlers", {}).get(key)
        if bulk:
            try:
                with transaction.atomic():
                    _fire_bulk(model, import_string(bulk), group, now, result)
                continue
            except Exception:
                logger.exception("bulk firing of %s %s timers failed; firing them one by one", workflow_type, key)
        for timer in group:
            try:
                outcome = fire(timer.pk, now=now, skip_locked=True)
            except Exception:
                logger.exception("timer %s failed to fire; it stays pending", timer.pk)
                result.failed += 1
                continue
            if outcome is None:
                result.skipped += 1
            else:
                result.fired += 1


def _fire_bulk(model, handler, timers: list, now: datetime, result: SweepResult) -> None:
    """Lock the timers' workflows (skipping busy ones), let the handler move them in
    bulk, and mark the timers fired with its outcomes."""
    locked = (
        model.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__any=[timer.execution_id for timer in timers])
        .only(*engine.BULK_FIELDS)
        .annotate(**{name: F(path) for name, path in model.bulk_lock_values.items()})
    )
    workflows = {workflow.pk: workflow for workflow in locked}
    ready = [timer for timer in timers if timer.execution_id in workflows]
    result.skipped += len(timers) - len(ready)
    outcomes = handler(workflows, ready)
    by_outcome: dict[str, list[int]] = {}
    for timer in ready:
        by_outcome.setdefault(outcomes.get(timer.pk) or "fired", []).append(timer.pk)
    for outcome, ids in by_outcome.items():
        # Fired, not cancelled: see `fire` (a bulk expiry cancels the batch's own timers too).
        Timer.objects.filter(pk__any=ids).update(fired_at=now, cancelled_at=None, outcome=outcome)
    result.fired += len(ready)


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
