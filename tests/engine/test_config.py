"""Configuration from the environment; health of the services we depend on."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from zea.conf import parse_duration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", 90), ("15m", 900), ("48h", 172800), ("7d", 604800), ("45", 45), ("1.5h", 5400), ("25ms", 0.025)],
)
def test_durations_accept_units_and_plain_seconds(text, expected):
    assert parse_duration(text) == timedelta(seconds=expected)


@pytest.mark.parametrize("text", ["", "abc", "7w", "-5s", "0", "0ms", "1d2h", "5 ms s"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_zero_is_a_duration_only_where_it_means_off():
    assert parse_duration("0", allow_zero=True) == parse_duration("0ms", allow_zero=True) == timedelta(0)
    with pytest.raises(ValueError):
        parse_duration("-1ms", allow_zero=True)


def test_the_outbox_linger_takes_milliseconds_and_zero_and_refuses_nonsense():
    assert _start_django(ZEA_OUTBOX_LINGER="0").returncode == 0
    assert _start_django(ZEA_OUTBOX_LINGER="40ms").returncode == 0
    refused = _start_django(ZEA_OUTBOX_LINGER="soon")
    assert refused.returncode != 0 and "ZEA_OUTBOX_LINGER" in refused.stderr
    refused = _start_django(ZEA_OUTBOX_LINGER_BUSY="soon")
    assert refused.returncode != 0 and "ZEA_OUTBOX_LINGER_BUSY" in refused.stderr


def _start_django(code="import django; django.setup(); print('started')", **env):
    """Run `code` in a fresh Python with the real settings and `env` added."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "zea.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_web_process_freezes_what_it_loaded_and_collects_young_objects_less_often():
    result = _start_django("import gc, zea.wsgi; print(gc.get_threshold()[0], gc.get_freeze_count() > 10_000)")
    assert result.stdout.split() == ["10000", "True"], result.stderr


def test_prepared_statements_can_be_turned_off_for_a_pooler():
    show = "from django.conf import settings; print(sorted(settings.DATABASES['default'].get('OPTIONS', {})))"
    options = {
        flag: _start_django(f"import django; django.setup(); {show}", ZEA_DB_PREPARED_STATEMENTS=flag).stdout.strip()
        for flag in ("1", "0")
    }
    assert options == {"1": "['prepare_threshold', 'server_side_binding']", "0": "[]"}


def test_a_bad_duration_stops_start_up_naming_the_variable():
    result = _start_django(ZEA_FEEDBACK_TIMEOUT="two days")
    assert result.returncode != 0
    assert "ZEA_FEEDBACK_TIMEOUT" in result.stderr and "two days" in result.stderr
    assert "started" not in result.stdout


def test_good_settings_start():
    result = _start_django(ZEA_FEEDBACK_TIMEOUT="36h")
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_healthz_is_200_when_postgresql_and_redis_answer(anon):
    response = anon.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "postgresql": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_naming_redis_when_it_is_unreachable(anon, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = anon.get("/healthz/")
    assert response.status_code == 503
    body = response.json()
    assert body["postgresql"] == "ok" and body["redis"].startswith("error")
    assert body["code"] == "unavailable" and "redis" in body["detail"]


@pytest.mark.django_db
def test_schema_and_docs_are_served(anon):
    assert anon.get("/api/schema/").status_code == 200
    assert anon.get("/api/docs/").status_code == 200


def test_unknown_api_paths_answer_json(anon):
    response = anon.get("/api/no/such/thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
