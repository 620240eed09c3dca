"""The status query, GET /api/workflows/{id}/ in-process as staff, with many workflows
and ten events each in the database; beside a primary-key lookup of the same rows.

    .venv/bin/python bench/status_query.py [--quick]     # full: 1,000,000 workflows, 10,000,000 events
"""

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def build(workflows: int, events_each: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                                       is_active, date_joined, language)
            SELECT '!', false, 's' || g, '', '', 's' || g || '@x.io', false, true, now(), ''
            FROM generate_series(1, %s) g
            """,
            [workflows],
        )
        cursor.execute(
            """
            INSERT INTO accounts_athlete (id, user_id, phone, sport, emergency_contact_name, emergency_contact_phone,
                                          created_at, updated_at)
            SELECT gen_random_uuid(), id, '', '', '', '', now(), now() FROM accounts_user WHERE username LIKE 's%%'
            """
        )
        cursor.execute(
            """
            INSERT INTO onboarding_onboarding (execution_id, state, version, created_at, updated_at, audit_seq,
                                               audit_hash, athlete_id)
            SELECT gen_random_uuid(), 'awaiting_profile', 1, now(), now(), %s, md5(id::text), id
            FROM accounts_athlete
            """,
            [events_each],
        )
        cursor.execute(
            """
            INSERT INTO workflows_auditevent (workflow_type, execution_id, seq, transition, source, target, actor,
                                              data, at, prev_hash, hash)
            SELECT 'onboarding', o.execution_id, s, CASE WHEN s = 1 THEN 'start' ELSE 'reopen' END,
                   '', 'awaiting_profile', 'system:bench', '{}', now(), md5(s::text), md5(o.execution_id::text || s)
            FROM onboarding_onboarding o CROSS JOIN generate_series(1, %s) s
            """,
            [events_each],
        )
        cursor.execute("ANALYZE")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    workflows = 50_000 if args.quick else 1_000_000
    common.fresh_database()
    common.setup_django()
    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from onboarding.models import Onboarding
    from zea.accounts.models import User

    with common.Timer() as t:
        build(workflows, 10)
    print(f"status query: {workflows} workflows, {workflows * 10} audit events (built in {t.seconds:.0f} s)")
    staff = User.objects.create_user("bench-staff", "staff@x.io", "x", is_staff=True)
    token = Token.objects.create(user=staff).key
    with connection.cursor() as cursor:
        cursor.execute("SELECT execution_id FROM onboarding_onboarding TABLESAMPLE SYSTEM (1) LIMIT 2000")
        ids = [row[0] for row in cursor.fetchall()]
    random.shuffle(ids)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    for execution_id in ids[:50]:  # warm up
        client.get(f"/api/workflows/{execution_id}/")
    samples, base = [], []
    for execution_id in ids:
        started = time.perf_counter()
        response = client.get(f"/api/workflows/{execution_id}/")
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and len(response.json()["events"]) == 10
        started = time.perf_counter()
        Onboarding.objects.get(pk=execution_id)
        base.append((time.perf_counter() - started) * 1000)
    common.report(
        "GET /api/workflows/{id}/ in-process, p50",
        common.percentile(samples, 50),
        "ms",
        common.percentile(base, 50),
        "PK lookup p50",
    )
    common.report("  p99", common.percentile(samples, 99), "ms", common.percentile(base, 99), "PK lookup p99")


if __name__ == "__main__":
    main()
