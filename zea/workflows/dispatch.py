"""Sending work to Celery after commit, without ever failing the caller.

A message lost here (Redis down, process killed between commit and send) is not lost
work: the timer or outbox row exists, and the sweeper enqueues or fires it.
"""

import logging
import time
from datetime import timedelta
from functools import lru_cache

import redis
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


def outbox_after_commit() -> None:
    """Ring the outbox doorbell once this transaction commits (see ring_outbox)."""
    transaction.on_commit(ring_outbox)


def _send_timers(timers) -> None:
    for timer in timers:
        safe_send("zea.workflows.tasks.fire_timer", args=[timer.pk], eta=timer.due_at)


# The outbox doorbell. After commit, a transaction that wrote emails wakes the worker
# with one `deliver_due_outbox` task, which delivers every email due, in batches, until
# none is left. While such a task is queued and not yet started (the flag below is set),
# later commits need not send another: it will find their rows, since it clears the
# flag before it reads. The task lingers until ZEA_OUTBOX_LINGER after the ring (longer
# while the outbox is busy, see `outbox.linger`) before it does, so the commits of that
# moment share it: under load one task, one lock and one commit in the worker serve many
# bookings, and the web process sends a SET instead of a Celery message. The flag
# expires on its own, so a lost task holds emails back for the longer linger and a
# second at most (and the sweeper re-sends anything overdue whatever happens).
DOORBELL = "zea:outbox:doorbell"
DELIVER_DUE = "zea.workflows.tasks.deliver_due_outbox"


def doorbell_ttl() -> timedelta:
    return max(settings.ZEA_OUTBOX_LINGER, settings.ZEA_OUTBOX_LINGER_BUSY) + timedelta(seconds=1)


def ring_outbox() -> bool:
    """Wake the worker to deliver the emails due, unless a wake-up is already queued."""

    def ring():
        client = _broker_redis(current_app.conf.broker_url)
        if client.set(DOORBELL, 1, nx=True, px=int(doorbell_ttl().total_seconds() * 1000)):
            try:
                current_app.send_task(DELIVER_DUE, args=[time.time()], ignore_result=True)
            except Exception:
                client.delete(DOORBELL)  # let the next commit try again
                raise

    return guarded(DELIVER_DUE, ring)


def answer_doorbell() -> None:
    """The woken task, before it reads the outbox: commits from now on ring again."""
    guarded("clearing the outbox doorbell", lambda: _broker_redis(current_app.conf.broker_url).delete(DOORBELL))


@lru_cache(maxsize=4)
def _broker_redis(url: str) -> redis.Redis:
    # The same timeouts as the broker's own connections: a request must not hang on Redis.
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    return redis.Redis.from_url(
        url, socket_connect_timeout=options["socket_connect_timeout"], socket_timeout=options["socket_timeout"]
    )


# Outbox rows sent by id (the sweeper's re-sends, the admin's): one task for one, a
# batch task per chunk for more, so that many worker threads share a large batch. Not
# a Celery `group`: a group tracks its results, which subscribes this process to Redis'
# result channel (see safe_send).
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
