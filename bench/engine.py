"""Engine benchmarks: workflow start, one step, timer recovery after an outage, an idle
sweep over many pending timers, and the status query. Each figure is printed beside a
baseline measured in the same run.

    .venv/bin/python bench/engine.py [--quick]
"""

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def bare_transition_baseline(n: int) -> float:
    """ms per bare psycopg transaction: UPDATE one row + INSERT one row."""
    import psycopg

    with psycopg.connect(dbname=common.BENCH_DB) as conn:
        # Ordinary (WAL-logged) tables, like ours: a TEMP table would skip the WAL and flatter the baseline.
        conn.execute("DROP TABLE IF EXISTS b_wf, b_ev")
        conn.execute("CREATE TABLE b_wf (id int primary key, state text)")
        conn.execute("CREATE TABLE b_ev (id bigserial primary key, wf int, target text, at timestamptz)")
        conn.execute("INSERT INTO b_wf SELECT g, 'a' FROM generate_series(1, %s) g", (n,))
        conn.commit()
        with common.Timer() as t:
            for i in range(1, n + 1):
                conn.execute("UPDATE b_wf SET state = 'b' WHERE id = %s", (i,))
                conn.execute("INSERT INTO b_ev (wf, target, at) VALUES (%s, 'b', now())", (i,))
                conn.commit()
    return t.seconds * 1000 / n


def make_athletes(n: int):
    from zea.accounts.models import Athlete, User

    tag = uuid.uuid4().hex[:6]
    users = User.objects.bulk_create(
        [User(username=f"b{tag}{i}@x.io", email=f"b{tag}{i}@x.io", password="!") for i in range(n)]
    )
    return Athlete.objects.bulk_create([Athlete(user=u) for u in users])


def bench_start_and_step(n: int):
    from django.utils import timezone

    from onboarding.models import Onboarding
    from onboarding.services import _email, _timers
    from zea.workflows import engine

    athletes = make_athletes(n)
    started = []
    samples = []
    for athlete in athletes:
        t0 = time.perf_counter()
        now = timezone.now()
        started.append(
            engine.start(
                Onboarding,
                actor="user:1",
                athlete=athlete,
                schedule=_timers(now, now),
                emails=[_email(athlete, "welcome")],
            )
        )
        samples.append((time.perf_counter() - t0) * 1000)
    baseline = bare_transition_baseline(n)
    common.report(
        "workflow start (row + event + 3 timers + email)",
        common.percentile(samples, 50),
        "ms p50",
        baseline,
        "bare UPDATE+INSERT txn",
    )
    samples = []
    for workflow in started:
        t0 = time.perf_counter()
        engine.transition(workflow, "complete_profile", actor="user:1")
        samples.append((time.perf_counter() - t0) * 1000)
    common.report(
        "workflow step (lock, transition, event, timers)",
        common.percentile(samples, 50),
        "ms p50",
        baseline,
        "bare UPDATE+INSERT txn",
    )
    common.report("  step p99", common.percentile(samples, 99), "ms")
    common.report("  steps/s, one process", 1000 / (sum(samples) / len(samples)), "/s")


def bench_timer_recovery(n: int):
    """n onboardings whose deadline passed during an outage; the sweeper fires them all."""
    from django.db import connection

    from zea.workflows import sweeper
    from zea.workflows.models import Timer

    with connection.cursor() as cursor:
        # Workflows, their start events and overdue deadline timers, written in bulk as
        # an outage would have left them (the ETA messages are gone).
        cursor.execute(
            """
            WITH u AS (
              INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
                                         is_staff, is_active, date_joined, language)
              SELECT '!', false, 'r' || g || '-' || %(tag)s, '', '', 'r' || g || '-' || %(tag)s || '@x.io',
                     false, true, now(), '' FROM generate_series(1, %(n)s) g RETURNING id
            ), a AS (
              INSERT INTO accounts_athlete (id, user_id, phone, sport, emergency_contact_name,
                                            emergency_contact_phone, created_at, updated_at)
              SELECT gen_random_uuid(), id, '', '', '', '', now(), now() FROM u RETURNING id
            )
            INSERT INTO onboarding_onboarding (execution_id, state, version, created_at, updated_at, audit_seq,
                                               audit_hash, athlete_id)
            SELECT gen_random_uuid(), 'awaiting_profile', 1, now(), now(), 0, '', id FROM a
            """,
            {"n": n, "tag": uuid.uuid4().hex[:6]},
        )
        cursor.execute(
            """
            INSERT INTO workflows_timer (workflow_type, execution_id, name, due_at, is_deadline, created_at, outcome)
            SELECT 'onboarding', execution_id, 'deadline', now() - interval '1 hour', true, now(), ''
            FROM onboarding_onboarding WHERE state = 'awaiting_profile' AND audit_seq = 0
            """
        )
    # Chain heads start empty: give each a start event so the chain verifies afterwards.
    _start_events_in_sql()
    due = Timer.objects.pending().count()
    with common.Timer() as t:
        result = sweeper.sweep(budget_seconds=3600)
    rate = result.fired / t.seconds
    baseline = _bulk_baseline(due)
    common.report(
        f"timer recovery: {result.fired} overdue fired", rate, "timers/s", baseline, "bulk UPDATE+INSERT rows/s"
    )
    common.report("  elapsed", t.seconds, "s")
    assert result.fired == due, (result, due)


def _start_events_in_sql():
    from django.db import connection
    from django.utils import timezone

    from onboarding.models import Onboarding
    from zea.workflows import audit, engine
    from zea.workflows.models import AuditEvent

    rows = list(Onboarding.objects.filter(audit_seq=0))
    events = [
        audit.new_event(row, transition="start", source="", target="awaiting_profile", actor="bench", data=None)
        for row in rows
    ]
    engine.copy_rows(AuditEvent, events)
    # The engine's own bulk write of chain heads: Django's bulk_update (a CASE per row)
    # took over a minute for 100,000 rows.
    engine._update_heads(Onboarding, rows, timezone.now())
    connection.close()


def _bulk_baseline(n: int) -> float:
    import psycopg

    with psycopg.connect(dbname=common.BENCH_DB) as conn:
        conn.execute("DROP TABLE IF EXISTS r_wf, r_ev")
        conn.execute("CREATE TABLE r_wf (id int primary key, state text)")
        conn.execute("CREATE TABLE r_ev (id bigserial primary key, wf int, target text)")
        conn.execute("INSERT INTO r_wf SELECT g, 'a' FROM generate_series(1, %s) g", (n,))
        conn.commit()
        with common.Timer() as t:
            conn.execute("UPDATE r_wf SET state = 'b'")
            conn.execute("INSERT INTO r_ev (wf, target) SELECT id, 'b' FROM r_wf")
            conn.commit()
    return n / t.seconds


def bench_idle_sweep(pending: int):
    from django.db import connection

    from zea.workflows import sweeper

    def sweep_ms(repeats=50):
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            sweeper.sweep()
            samples.append((time.perf_counter() - t0) * 1000)
        return common.percentile(samples, 50)

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM workflows_timer WHERE fired_at IS NULL AND cancelled_at IS NULL")
        # Nothing due means no email either: the recovery bench left one per expired
        # onboarding (no worker sends them here), and every sweep would re-enqueue 5,000.
        cursor.execute("UPDATE workflows_outboxmessage SET sent_at = now() WHERE sent_at IS NULL")
        # Both sweeps are measured on vacuumed tables, as a long-lived database keeps them:
        # otherwise autovacuum, working through what the recovery bench (or the bulk
        # insert below) left, competes with the samples of one and not the other.
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")  # nor the checkpointer, writing out what came before
    empty = sweep_ms()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO workflows_timer (workflow_type, execution_id, name, due_at, is_deadline, created_at, outcome)
            SELECT 'onboarding', gen_random_uuid(), 'deadline', now() + interval '1 day' + g * interval '1 second',
                   true, now(), ''
            FROM generate_series(1, %s) g
            """,
            (pending,),
        )
        cursor.execute("VACUUM (ANALYZE) workflows_timer")
        cursor.execute("CHECKPOINT")
    full = sweep_ms()
    common.report(f"idle sweep, {pending} timers pending (none due)", full, "ms p50", empty, "empty-table sweep")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    steps, backlog, pending = (300, 5_000, 100_000) if args.quick else (2_000, 100_000, 1_000_000)
    common.fresh_database()
    common.setup_django()
    print(f"engine benchmarks ({'quick' if args.quick else 'full'}): steps={steps} backlog={backlog} pending={pending}")
    bench_start_and_step(steps)
    bench_timer_recovery(backlog)
    bench_idle_sweep(pending)


if __name__ == "__main__":
    main()
