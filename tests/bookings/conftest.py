"""Fixtures for bookings: slots in the future, athletes who may book and have credits."""

import functools
import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import services
from bookings.models import Slot
from tests.conftest import client_for, register_athlete
from tests.helpers import race_results

_hours = itertools.count(0)


def new_slot(coach, *, start_in: timedelta | None = None, length=timedelta(hours=1), **fields) -> Slot:
    """A slot of `coach`; without `start_in`, days ahead at an hour no other test slot uses."""
    starts_at = timezone.now() + (start_in if start_in is not None else timedelta(days=3, hours=2 * next(_hours)))
    return Slot.objects.create(coach=coach, starts_at=starts_at, ends_at=starts_at + length, **fields)


def ready_athlete(credits: int = 5):
    """An athlete whose onboarding is completed, with `credits` granted; returns (user, client)."""
    user = register_athlete(complete=True).athlete.user
    if credits:
        services.grant_credits(athlete_id=user.athlete.pk, amount=credits, reason="test", by=None)
    return user, client_for(user)


def race(count: int, action):
    """Run `action(i)` in `count` threads released together; what each returned or raised."""
    return race_results(*[functools.partial(action, i) for i in range(count)])


@pytest.fixture
def slot(coach_obj):
    return new_slot(coach_obj)


@pytest.fixture
def booker(db):
    """(user, client) of an athlete who may book and holds 5 credits."""
    return ready_athlete(5)
