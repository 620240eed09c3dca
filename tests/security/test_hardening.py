"""Production settings pass Django's deploy checks; logins are throttled per address and per account."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "zea.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "prod-like-8f2c6a1e9d4b7f3a5c0e2d8b6a4f1c9e7b3d5a0f2c8e6b4d",
    "DJANGO_ALLOWED_HOSTS": "zea.example.com",
    "DJANGO_SECURE_COOKIES": "1",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
}


def _manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **PRODUCTION, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_real_secret():
    env = {**os.environ, **PRODUCTION}
    env.pop("DJANGO_SECRET_KEY")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_the_admin_lives_at_a_configurable_path():
    code = "from django.urls import reverse; print(reverse('admin:index'))"
    result = _manage("shell", "-c", code, ZEA_ADMIN_PATH="backstage-7f3/")
    assert result.stdout.strip().splitlines()[-1] == "/backstage-7f3/", result.stderr


@pytest.fixture
def tight_throttles(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"register": "100/min", "login": "100/min", "login_user": "3/min"},
    }
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    cache.clear()
    yield
    SimpleRateThrottle.THROTTLE_RATES = original
    cache.clear()


@pytest.mark.django_db
def test_password_guessing_against_one_account_is_slowed(anon, athlete_user, tight_throttles):
    codes = [
        anon.post("/api/auth/token/", {"username": athlete_user.email, "password": f"guess-{i}"}).status_code
        for i in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    blocked = anon.post("/api/auth/token/", {"username": athlete_user.email.upper(), "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.json()["code"] == "throttled" and "retry_after" in blocked.json()
    other = anon.post("/api/auth/token/", {"username": "someone-else@example.com", "password": "x"})
    assert other.status_code == 400  # other accounts are not locked out
