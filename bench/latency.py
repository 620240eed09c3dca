"""Latency through a real worker process: commit → email handed to the backend, and
record-time → both review branches open (the chord); beside Celery's own round trip of a
no-op task and of a 2+1 no-op chord, measured in the same run.

    .venv/bin/python bench/latency.py [--quick]
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import stack_bench

# How often the bench looks for the outcome. The figures are times the stack itself
# stamped (the email backend, the audit event), so polling less often changes none of
# them; polling every half millisecond took a core from the two the stack runs on.
POLL = 0.005


def opened_at(session_id):
    """When the session's `open_reviews` event was written, if it was."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT at FROM workflows_auditevent WHERE execution_id = %s AND transition = 'open_reviews'",
            [session_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def celery_round_trips(n):
    from celery import chord

    from bench.tasks import noop

    single, chords = [], []
    for _ in range(n):
        started = time.perf_counter()
        noop.delay().get(timeout=10)
        single.append((time.perf_counter() - started) * 1000)
    for _ in range(n):
        started = time.perf_counter()
        chord([noop.s(), noop.s()], noop.si()).apply_async().get(timeout=10)
        chords.append((time.perf_counter() - started) * 1000)
    return single, chords


def notification_latency(n):
    """Register athletes; each welcome email is stamped by the worker's email backend."""
    from django.db import transaction

    from bench import stamps
    from onboarding import services

    client = stamps.client()
    samples = []
    for i in range(n):
        email = f"lat-{time.time_ns()}-{i}@x.io"
        with transaction.atomic():
            services.register(email=email, password="Bench-pass-2026!", first_name="L", last_name="L")
            committed = time.time()  # on_commit (the enqueue) runs as the block exits
        deadline = time.time() + 10
        while time.time() < deadline and not client.hexists(stamps.KEY, email):
            time.sleep(POLL)
        samples.append((float(client.hget(stamps.KEY, email)) - committed) * 1000)
    return samples


def chord_latency(n):
    """record-time commit → the session in review (both branches opened by the chord)."""
    import http_booking
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from bookings import services as bookings
    from sessions import services as sessions
    from sessions.models import TrainingSession

    tokens = http_booking.athletes(n, credits=2)
    users = [Token.objects.select_related("user").get(key=key).user for key in tokens]
    slot_ids = http_booking.slots(n, start_in=timedelta(hours=1))
    samples = []
    for user, slot_id in zip(users, slot_ids, strict=False):
        session = TrainingSession.objects.get(pk=bookings.book_slot(user=user, slot_id=slot_id).session_id)
        end = timezone.now() - timedelta(minutes=1)
        with transaction.atomic():
            sessions.record_time(session=session, started_at=end - timedelta(minutes=30), ended_at=end, actor="bench")
            committed = time.time()
        deadline = time.time() + 10
        opened = None
        while time.time() < deadline and opened is None:
            time.sleep(POLL)
            opened = opened_at(session.pk)
        samples.append((opened.timestamp() - committed) * 1000)
    return samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 30 if args.quick else 200
    stack = stack_bench.start_stack("latency", "worker")
    try:
        single, chords = celery_round_trips(n)
        notes = notification_latency(n)
        chorded = chord_latency(n)
        pool = os.environ.get("WORKER_POOL", "threads")
        print(f"latency through a real worker ({pool} pool, concurrency 2), {n} samples each")
        common.report(
            "commit → email handed to the backend, p50",
            common.percentile(notes, 50),
            "ms",
            common.percentile(single, 50),
            "no-op task round trip p50",
        )
        common.report("  p99", common.percentile(notes, 99), "ms")
        common.report(
            "record-time → both branches open, p50",
            common.percentile(chorded, 50),
            "ms",
            common.percentile(chords, 50),
            "2+1 no-op chord round trip p50",
        )
        common.report("  p99", common.percentile(chorded, 99), "ms")
    finally:
        _drop_result_subscriptions()
        stack.teardown()


def _drop_result_subscriptions():
    """This process waited on results, so Celery keeps a subscription open for them; once
    the stack's Redis is gone, each result object deleted later (at exit, say) would try
    to unsubscribe and retry for 20 s. Close it now and let those deletions be no-ops."""
    from celery import current_app

    consumer = current_app.backend.result_consumer
    consumer.stop()
    consumer._pubsub = None  # cancel_for() unsubscribes only while this is set


if __name__ == "__main__":
    main()
