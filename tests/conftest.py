"""Shared fixtures: API clients per role, a real Celery worker, the tests' own Redis dbs."""

import itertools

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from onboarding import services as onboarding_services
from zea.accounts.models import User
from zea.accounts.services import create_coach
from zea.celery import app as celery_app
from zea.workflows import outbox

_seq = itertools.count(1)
PASSWORD = "Str0ng-pass-for-tests!"


def unique_email(prefix="user"):
    return f"{prefix}-{next(_seq)}@example.com"


def flush_test_redis():
    """FLUSHDB only the tests' own broker and result dbs (never FLUSHALL)."""
    for url in (settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND):
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()


@pytest.fixture(autouse=True)
def _clean_mailbox():
    mail.outbox = []


@pytest.fixture(autouse=True)
def _quiet_outbox(monkeypatch):
    # A busy wake-up lengthens the next one's linger; each test starts quiet.
    monkeypatch.setattr(outbox, "_busy_until", 0.0)


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def staff_user(db):
    return User.objects.create_user(
        username=unique_email("staff"), email=unique_email("staff"), password=PASSWORD, is_staff=True
    )


@pytest.fixture
def staff(staff_user):
    return client_for(staff_user)


def register_athlete(complete=False, **overrides):
    """A registered athlete (onboarding started); with `complete`, profile filled in."""
    fields = {"email": unique_email("athlete"), "password": PASSWORD, "first_name": "Ana", "last_name": "Atleta"}
    onboarding, _ = onboarding_services.register(**(fields | overrides))
    if complete:
        onboarding = onboarding_services.update_profile(user=onboarding.athlete.user, **PROFILE)
    return onboarding


PROFILE = {
    "date_of_birth": "1995-05-17",
    "phone": "+34 600 111 222",
    "sport": "running",
    "emergency_contact_name": "Eva",
    "emergency_contact_phone": "+34 600 333 444",
}


@pytest.fixture
def onboarding(db):
    return register_athlete()


@pytest.fixture
def athlete_user(onboarding):
    return onboarding.athlete.user


@pytest.fixture
def athlete(athlete_user):
    return client_for(athlete_user)


@pytest.fixture
def other_athlete(db):
    return client_for(register_athlete().athlete.user)


@pytest.fixture
def coach_obj(db):
    return create_coach(
        email=unique_email("coach"), password=PASSWORD, first_name="Cora", last_name="Coach", hourly_rate="40.00"
    )


@pytest.fixture
def coach(coach_obj):
    return client_for(coach_obj.user)


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (thread) consuming the tests' own Redis db; real commits."""
    flush_test_redis()
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=10,
    ) as worker:
        yield worker
    flush_test_redis()
