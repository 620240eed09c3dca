"""Shared set-up for benchmarks: a scratch database, Django configured, timing helpers."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("ZEA_BENCH_DB", "zea_bench")
os.environ["DATABASE_URL"] = f"postgres:///{BENCH_DB}"
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zea.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-5e1a9c3d7b2f8e4a6c0d9b1f3e5a7c2d4b6f8a0e")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")


# The benches' own Redis dbs on the machine's server, the last two of its sixteen (`make
# run` keeps 0 and 1, the tests theirs from 2 up to 13). What a bench enqueues there has
# no worker to take it.
OWN_REDIS_DBS = {"redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/14"}


def fresh_database():
    """Drop and re-create the bench database, then migrate it (quietly); empty the bench's
    own Redis db, so a run does not pile its tasks on the last one's."""
    import psycopg
    import redis
    from psycopg import sql

    for url in {os.environ["CELERY_BROKER_URL"], os.environ["CELERY_RESULT_BACKEND"]} & OWN_REDIS_DBS:
        redis.Redis.from_url(url).flushdb()

    with psycopg.connect(dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ)


def setup_django():
    import warnings

    import django

    # The benches serve no static files, and without `collectstatic` WhiteNoise warns
    # that STATIC_ROOT is missing in the middle of a bench's figures.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(samples_ms) -> str:
    return (
        f"p50 {percentile(samples_ms, 50):.2f} ms  p99 {percentile(samples_ms, 99):.2f} ms  "
        f"mean {statistics.fmean(samples_ms):.2f} ms"
    )


def report(name, value, unit, baseline=None, baseline_name="baseline", better="lower"):
    line = f"{name:<48} {value:>10.2f} {unit}"
    if baseline:
        ratio = value / baseline
        line += f"   | {baseline_name}: {baseline:.2f} {unit}  ratio {ratio:.2f}x"
    print(line, flush=True)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
