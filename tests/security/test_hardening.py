"""Production settings pass Django's deploy checks; logins are throttled per address and per account."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tests.conftest import PASSWORD, client_for

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


def _throttled(settings, **rates):
    """These rates for the test, on fresh counts (DRF reads its rates once, at import)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    cache.clear()
    yield
    SimpleRateThrottle.THROTTLE_RATES = original
    cache.clear()


@pytest.fixture
def tight_throttles(settings):
    yield from _throttled(settings, register="100/min", login="100/min", login_user="3/min")


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


@pytest.fixture
def address_throttles(settings):
    yield from _throttled(settings, register="2/min", login="2/min", login_user="100/min")


@pytest.mark.django_db
def test_a_made_up_x_forwarded_for_does_not_escape_the_address_throttles(anon, address_throttles):
    # With no proxy of ours configured (ZEA_NUM_PROXIES), the address is the connection's.
    registrations = [
        anon.post(
            "/api/onboarding/register/",
            {"email": f"x{i}@example.com", "password": PASSWORD, "first_name": "X", "last_name": "Y"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        ).status_code
        for i in range(3)
    ]
    logins = [
        anon.post(
            "/api/auth/token/", {"username": f"n{i}@example.com", "password": "x"}, HTTP_X_FORWARDED_FOR=f"10.1.0.{i}"
        ).status_code
        for i in range(3)
    ]
    assert (registrations, logins) == ([201, 201, 429], [400, 400, 429])


@pytest.mark.django_db
def test_a_new_password_ends_the_old_tokens(athlete_user):
    old = client_for(athlete_user)
    assert old.get("/api/me/").status_code == 200
    athlete_user.set_password("A-new-pass-phrase-42")  # a reset by staff, or by the user
    athlete_user.save()
    response = old.get("/api/me/")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    login = client_for(None).post(
        "/api/auth/token/", {"username": athlete_user.email, "password": "A-new-pass-phrase-42"}
    )
    assert login.status_code == 200
    # a save that does not touch the password keeps them
    fresh = client_for(athlete_user)
    athlete_user.first_name = "Renamed"
    athlete_user.save()
    assert fresh.get("/api/me/").status_code == 200


@pytest.mark.django_db
def test_a_username_typed_with_capitals_logs_in(anon, django_user_model):
    django_user_model.objects.create_user("Boss@Example.com", "Boss@Example.com", "Boss-pass-phrase-42", is_staff=True)
    response = anon.post("/api/auth/token/", {"username": "Boss@Example.com", "password": "Boss-pass-phrase-42"})
    assert response.status_code == 200 and response.json()["token"]


@pytest.mark.django_db
def test_the_throttles_count_in_redis_for_every_web_worker(anon, address_throttles, settings):
    # Not in one process' memory: another worker (here, a client of its own) sees the count.
    import redis

    for i in range(2):
        anon.post("/api/auth/token/", {"username": f"w{i}@example.com", "password": "x"})
    location = settings.CACHES["default"]["LOCATION"]
    assert location.startswith("redis://")
    keys = redis.Redis.from_url(location).keys("zea-cache:*throttle_login_*")
    assert keys, "no throttle count in Redis"
    cache.close()  # a fresh connection, as another process would have
    assert anon.post("/api/auth/token/", {"username": "w9@example.com", "password": "x"}).status_code == 429


@pytest.mark.django_db
def test_with_the_cache_unreachable_logins_and_registrations_go_on(anon, athlete_user, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    login = anon.post("/api/auth/token/", {"username": athlete_user.email, "password": PASSWORD})
    assert login.status_code == 200 and login.json()["token"]
    registration = anon.post(
        "/api/onboarding/register/",
        {"email": "down@example.com", "password": PASSWORD, "first_name": "D", "last_name": "Own"},
    )
    assert registration.status_code == 201
