"""Payroll benchmark: a month of 100,000 recorded sessions over 200 coaches, time to a
ready report (figures, CSV, the email in the outbox) beside the bare aggregate query.

    .venv/bin/python bench/payroll_month.py [--quick]

The month is built in SQL (generate_series), not through the services: users, coaches,
athletes, slots, bookings and sessions rows, plus the neighbouring months so the month's
filter has something to skip. Runs in its own scratch database (ZEA_BENCH_DB).
"""

import argparse
import os
import sys
from datetime import date
from pathlib import Path

# Our own scratch database, and Redis db 14 (ours) for the outbox message sent after commit.
os.environ["ZEA_BENCH_DB"] = "zea_bench_payroll"
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/14")
# A zone off UTC, so the month's bounds and the weeks go through AT TIME ZONE as in production.
os.environ.setdefault("ZEA_TIME_ZONE", "America/Mexico_City")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

MONTH = date(2026, 10, 1)
COACHES = 200
ATHLETES = 2_000


def build_month(cursor, *, month_start: str, per_coach: int, spacing_minutes: int) -> None:
    """`per_coach` back-to-back slots per coach from `month_start`, every one booked; most
    sessions recorded (real start ±10 min off the slot, 30–120 min), 1 in 37 cancelled."""
    cursor.execute(
        """
        CREATE TEMP TABLE plan ON COMMIT DROP AS
        SELECT gen_random_uuid() AS slot_id, gen_random_uuid() AS booking_id, gen_random_uuid() AS session_id,
               c.id AS coach_id, a.id AS athlete_id, i, c.n,
               %(start)s::timestamptz + i * %(spacing)s * interval '1 minute' AS starts_at,
               i %% 37 = 0 AS cancelled
        FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM accounts_coach) c
        CROSS JOIN generate_series(0, %(per_coach)s - 1) i
        JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM accounts_athlete) a
          ON a.n = (c.n * 7 + i) %% %(athletes)s
        """,
        {"start": month_start, "spacing": spacing_minutes, "per_coach": per_coach, "athletes": ATHLETES},
    )
    cursor.execute(
        """
        INSERT INTO bookings_slot (id, starts_at, ends_at, capacity, price_credits, booked_count, created_at, coach_id)
        SELECT slot_id, starts_at, starts_at + interval '1 hour', 1, 1, CASE WHEN cancelled THEN 0 ELSE 1 END,
               starts_at - interval '7 days', coach_id
        FROM plan
        """
    )
    cursor.execute(
        """
        INSERT INTO bookings_booking (execution_id, version, created_at, updated_at, audit_seq, audit_hash, state,
                                      credits_debited, credits_refunded, athlete_id, slot_id)
        SELECT booking_id, 1, starts_at - interval '7 days', starts_at - interval '7 days', 0, '',
               CASE WHEN cancelled THEN 'cancelled' ELSE 'confirmed' END, 1, CASE WHEN cancelled THEN 1 ELSE 0 END,
               athlete_id, slot_id
        FROM plan
        """
    )
    cursor.execute(
        """
        INSERT INTO coaching_trainingsession (execution_id, version, created_at, updated_at, audit_seq, audit_hash,
            state, scheduled_start, scheduled_end, athlete_id, booking_id, coach_id,
            actual_start, actual_end, payable_minutes, time_recorded_at)
        SELECT session_id, 1, starts_at - interval '7 days', starts_at + interval '2 days', 0, '',
               CASE WHEN cancelled THEN 'cancelled' WHEN i %% 11 = 0 THEN 'in_review' ELSE 'completed' END,
               starts_at, starts_at + interval '1 hour', athlete_id, booking_id, coach_id,
               real_start, real_start + minutes * interval '1 minute', minutes,
               real_start + minutes * interval '1 minute'
        FROM (
            SELECT p.*,
                   CASE WHEN cancelled THEN NULL
                        ELSE starts_at + (((i * 7 + n) %% 21) - 10) * interval '1 minute' END AS real_start,
                   CASE WHEN cancelled THEN NULL ELSE 30 + (i * 13 + n) %% 91 END AS minutes
            FROM plan p
        ) s
        """,
        (),
    )
    cursor.execute("DROP TABLE plan")


def build(per_coach: int, neighbours: bool) -> int:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, is_staff, is_active,
                                       date_joined, email, language)
            SELECT '!', false, kind || g || '@bench.io', initcap(kind), 'Number ' || g, false, true, now(),
                   kind || g || '@bench.io', ''
            FROM (VALUES ('coach', %s), ('athlete', %s)) k(kind, total), generate_series(1, total) g
            """,
            (COACHES, ATHLETES),
        )
        cursor.execute(
            """
            INSERT INTO accounts_coach (id, hourly_rate, created_at, user_id)
            SELECT gen_random_uuid(), 20 + id %% 37 + (id %% 4) * 0.25, now(), id
            FROM accounts_user WHERE username LIKE 'coach%%'
            """,
            (),
        )
        cursor.execute(
            """
            INSERT INTO accounts_athlete (id, phone, sport, emergency_contact_name, emergency_contact_phone,
                                          created_at, updated_at, user_id)
            SELECT gen_random_uuid(), '', 'running', '', '', now(), now(), id
            FROM accounts_user WHERE username LIKE 'athlete%%'
            """,
            (),
        )
        months = [("2026-10-01 06:00+00", per_coach)]  # midnight in Mexico City
        if neighbours:  # half as many in September and November
            months += [("2026-09-01 06:00+00", per_coach // 2), ("2026-11-01 06:00+00", per_coach // 2)]
        for start, count in months:
            # One-hour slots spread over 30 days (85 minutes apart for 500), never overlapping.
            build_month(cursor, month_start=start, per_coach=count, spacing_minutes=30 * 24 * 60 // count - 1)
        cursor.execute("ANALYZE")
        cursor.execute(
            "SELECT count(*) FROM coaching_trainingsession WHERE scheduled_start >= %s AND scheduled_start < %s",
            ("2026-10-01 06:00+00", "2026-11-01 06:00+00"),
        )
        return cursor.fetchone()[0]


def bare_aggregate_ms(repeats: int) -> tuple[float, int]:
    """The baseline: the same aggregate as one hand-written SQL query over the same rows."""
    import time

    from django.conf import settings
    from django.db import connection

    tz = settings.ZEA_TIME_ZONE
    samples, rows = [], 0
    with connection.cursor() as cursor:
        for _ in range(repeats):
            t0 = time.perf_counter()
            cursor.execute(
                """
                SELECT coach_id, date_trunc('week', actual_start AT TIME ZONE %(tz)s) AS week,
                       count(*), sum(payable_minutes)
                FROM coaching_trainingsession
                WHERE actual_start >= (%(month)s::timestamp AT TIME ZONE %(tz)s)
                  AND actual_start < ((%(month)s::timestamp + interval '1 month') AT TIME ZONE %(tz)s)
                  AND payable_minutes IS NOT NULL AND state <> 'cancelled'
                GROUP BY 1, 2
                """,
                {"tz": tz, "month": MONTH.isoformat()},
            )
            rows = len(cursor.fetchall())
            samples.append((time.perf_counter() - t0) * 1000)
    return common.percentile(samples, 50), rows


def generate_ms(repeats: int) -> tuple[float, object]:
    """`payroll.services.generate` end to end: lock, transition, aggregate, CSV, complete
    with the outbox email; regenerated between runs so each run computes from scratch."""
    import time

    from payroll import services
    from payroll.models import PayrollReport

    report, _ = services.request_report(month=MONTH, actor="system:bench")
    samples = []
    for attempt in range(repeats):
        if attempt:
            services.request_report(month=MONTH, actor="system:bench", regenerate=True)
        t0 = time.perf_counter()
        assert services.generate(report.pk) == PayrollReport.State.READY
        samples.append((time.perf_counter() - t0) * 1000)
    return common.percentile(samples, 50), PayrollReport.objects.get(pk=report.pk)


def explain() -> None:
    """The plan of the report's aggregate (what to look at if the figure ever regresses)."""
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.db import connection

    from payroll import figures

    sql, params = figures.weekly_minutes(MONTH, ZoneInfo(settings.ZEA_TIME_ZONE)).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        for (line,) in cursor.fetchall():
            print("    " + line)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="20,000 sessions, no neighbouring months")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the aggregate")
    args = parser.parse_args()
    per_coach, repeats = (100, 3) if args.quick else (500, 5)
    common.fresh_database()
    common.setup_django()
    with common.Timer() as built:
        sessions = build(per_coach, neighbours=not args.quick)
    print(
        f"payroll benchmarks ({'quick' if args.quick else 'full'}): {sessions} sessions in {MONTH:%Y-%m} over "
        f"{COACHES} coaches{'' if args.quick else ', plus half as many in each neighbouring month'}; "
        f"built in {built.seconds:.1f} s"
    )
    baseline, groups = bare_aggregate_ms(repeats)
    elapsed, report = generate_ms(repeats)
    assert len(report.csv.splitlines()) == groups + 1, "the CSV has one row per coach and week"
    common.report(
        f"report ready ({groups} coach-weeks, CSV {len(report.csv) // 1024} KiB)",
        elapsed,
        "ms p50",
        baseline,
        "one aggregate SQL query",
    )
    if args.explain:
        explain()


if __name__ == "__main__":
    main()
