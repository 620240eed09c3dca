"""Sending work to Celery after commit, without ever failing the caller.

A message lost here (Redis down, process killed between commit and send) is not lost
work: the timer or outbox row exists, and the sweeper enqueues or fires it.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def eta_horizon() -> timedelta:
    """How far ahead an ETA task may be sent: never days (Redis visibility timeout,
    worker memory); the sweeper covers the rest."""
    return settings.ZEA_SWEEP_INTERVAL * 2


def timers_after_commit(timers) -> None:
    """Mark the timers due soon as enqueued and send their ETA tasks after commit.

    Called before the rows are inserted so `enqueued_at` lands with them.
    """
    now = timezone.now()
    soon = [timer for timer in timers if timer.due_at <= now + eta_horizon()]
    for timer in soon:
        timer.enqueued_at = now
    if soon:
        transaction.on_commit(lambda: _send_timers(soon))


def outbox_after_commit(message_ids: list[int]) -> None:
    transaction.on_commit(lambda: send_outbox(message_ids))


def _send_timers(timers) -> None:
    for timer in timers:
        safe_send("zea.workflows.tasks.fire_timer", args=[timer.pk], eta=timer.due_at)


# The emails written by one transaction (a booking's two, say) go out as one task: a
# publish costs the web process, Redis and the worker more than rendering an email does.
# A larger batch (a sweep after an outage) goes in chunks, so that many worker threads
# share it. Not a Celery `group`: a group tracks its results, which subscribes this
# process to Redis' result channel (see safe_send).
CHUNK = 100


def send_outbox(message_ids: list[int]) -> bool:
    """Deliver these outbox rows: one task for one, a batch task per chunk for more."""
    if not message_ids:
        return True
    if len(message_ids) == 1:
        sends = [("zea.workflows.tasks.deliver_outbox", [message_ids[0]])]
    else:
        sends = [
            ("zea.workflows.tasks.deliver_outbox_batch", [message_ids[i : i + CHUNK]])
            for i in range(0, len(message_ids), CHUNK)
        ]
    return all([safe_send(name, args=args) for name, args in sends])


def safe_send(task_name: str, **options) -> bool:
    # Fire and forget: with a result wanted, Celery's Redis backend would subscribe this
    # process to the result channel, and a request would then block reconnecting to a
    # dead Redis (its retry loop) instead of failing fast.
    options.setdefault("ignore_result", True)
    return guarded(task_name, lambda: current_app.send_task(task_name, **options))


def guarded(what: str, send) -> bool:
    """Run `send` (a publish to the broker); log and return False if the broker fails."""
    try:
        send()
    except Exception:
        logger.warning("could not enqueue %s; the sweeper will pick it up", what, exc_info=True)
        return False
    return True
