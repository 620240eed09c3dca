"""Fixtures for sessions: a booked session of a coach and an athlete, both with clients."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from bookings import services as bookings
from sessions import services
from sessions.models import TrainingSession
from tests.bookings.conftest import new_slot, ready_athlete
from tests.conftest import client_for

_offsets = itertools.count(0)


def book_session(coach, *, start_in=None) -> TrainingSession:
    """A booked session starting soon (each on its own slot, so a coach's never overlap)."""
    user, _ = ready_athlete(2)
    slot = new_slot(coach, start_in=start_in or timedelta(hours=2, minutes=61 * next(_offsets) % 500))
    booked = bookings.book_slot(user=user, slot_id=slot.pk)
    return TrainingSession.objects.get(pk=booked.session_id)


def times(minutes=60, ended_ago=timedelta(minutes=10)):
    """A real (started_at, ended_at) in the recent past, `minutes` long."""
    end = timezone.now().replace(microsecond=0) - ended_ago
    return end - timedelta(minutes=minutes), end


def record(session, minutes=60):
    started_at, ended_at = times(minutes)
    return services.record_time(session=session, started_at=started_at, ended_at=ended_at, actor="user:0")


def open_branches(session):
    """What the chord does: open both branches, then run its body."""
    for kind in ("feedback", "evaluation"):
        services.open_review(session.pk, kind)
    services.reviews_opened(session.pk)
    return TrainingSession.objects.get(pk=session.pk)


@pytest.fixture
def session(coach_obj):
    return book_session(coach_obj)


@pytest.fixture
def session_athlete(session):
    return client_for(session.athlete.user)


@pytest.fixture
def session_coach(session):
    return client_for(session.coach.user)


@pytest.fixture
def other_coach(db):
    from tests.conftest import PASSWORD, unique_email
    from zea.accounts.services import create_coach

    coach = create_coach(
        email=unique_email("coach"), password=PASSWORD, first_name="Otto", last_name="Other", hourly_rate="30.00"
    )
    return client_for(coach.user)
