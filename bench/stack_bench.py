"""A benchmark stack: the e2e harness's real processes on a scratch database, with
Django configured in this process against the same database."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-5e1a9c3d7b2f8e4a6c0d9b1f3e5a7c2d4b6f8a0e")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

from tests.e2e.stack import Stack  # noqa: E402

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DJANGO_LOG_LEVEL": "WARNING",
    "ZEA_SWEEP_INTERVAL": "30s",
}


def start_stack(name: str, *processes, **env) -> Stack:
    """Start `processes` on a fresh database; configure Django here against it."""
    stack = Stack(f"bench_{name}", 12, **{**BENCH_ENV, **env})
    stack.setup()  # migrates the scratch database and creates the staff login
    os.environ.update(
        {
            "DATABASE_URL": f"postgres:///{stack.db_name}",
            "CELERY_BROKER_URL": stack.broker,
            "CELERY_RESULT_BACKEND": stack.results,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
        }
    )
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_counter (id int PRIMARY KEY, n bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_counter SELECT g, 0 FROM generate_series(0, 63) g ON CONFLICT DO NOTHING")
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_event (id bigserial PRIMARY KEY, user_id int, at timestamptz)")
    if processes:
        stack.start(*processes)
    return stack
