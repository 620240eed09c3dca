"""Thin Celery tasks over the engine; each is idempotent (rows and locks decide)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from zea.workflows import dispatch, outbox, sweeper, timers

# An ETA task may be run a hair early (clocks, scheduling): fire within this tolerance.
EARLY_TOLERANCE = timedelta(seconds=1)


@shared_task(acks_late=True, ignore_result=True)
def fire_timer(timer_id: int) -> str | None:
    return timers.fire(timer_id, tolerance=EARLY_TOLERANCE)


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=50, time_limit=60)
def sweep() -> dict:
    return sweeper.sweep().as_dict()


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def deliver_outbox(self, message_id: int) -> None:
    delay = outbox.deliver(message_id)
    if delay is not None:
        # The row remembers the attempt; this retry is a shortcut for the sweeper.
        raise self.retry(countdown=delay.total_seconds(), max_retries=settings.ZEA_OUTBOX_MAX_ATTEMPTS)


# Acknowledged on receipt, unlike the other tasks: a wake-up lost with its worker costs
# nothing (the rows wait, the doorbell expires, the sweeper re-sends what is overdue),
# and a lingering wake-up need not sit unacknowledged in the worker.
# Limits as for a batch: the loop stops taking batches after its budget (20 s), but a
# batch in progress may wait on a slow mail server.
@shared_task(acks_late=False, ignore_result=True, soft_time_limit=240, time_limit=300)
def deliver_due_outbox(rung_at: float | None = None) -> int:
    """Rung by the outbox doorbell: every email due now, in batches."""
    taken, retries = outbox.deliver_due(rung_at=rung_at)
    _retry_later(retries)
    return taken


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=240, time_limit=300)
def deliver_outbox_batch(message_ids: list[int]) -> None:
    """Many emails in one task; one that fails is retried on its own after its backoff
    (and its row stays pending for the sweeper should that message be lost too)."""
    _retry_later(outbox.deliver_many(message_ids))


def _retry_later(retries: dict) -> None:
    """Each failed email again after its backoff, on its own (its row stays pending, so
    the sweeper re-sends it should this message be lost too)."""
    for message_id, delay in retries.items():
        dispatch.safe_send("zea.workflows.tasks.deliver_outbox", args=[message_id], countdown=delay.total_seconds())
