"""Fixtures for payroll: coaches with chosen rates and sessions recorded at chosen past times."""

import itertools
from datetime import datetime, timedelta

import pytest

from bookings import services as bookings
from sessions.models import TrainingSession
from tests.bookings.conftest import new_slot, ready_athlete
from tests.conftest import PASSWORD, unique_email
from zea.accounts.services import create_coach
from zea.workflows import engine

# Slots far enough ahead that no other fixture's slot of the same coach overlaps them.
_slot_hours = itertools.count(0)


def make_coach(first_name: str, last_name: str, rate: str):
    return create_coach(
        email=unique_email("coach"), password=PASSWORD, first_name=first_name, last_name=last_name, hourly_rate=rate
    )


def booked(coach, athlete_user) -> TrainingSession:
    """A session booked through the real booking service (its slot lies in the future)."""
    slot = new_slot(coach, start_in=timedelta(days=60, hours=2 * next(_slot_hours)))
    return TrainingSession.objects.get(pk=bookings.book_slot(user=athlete_user, slot_id=slot.pk).session_id)


def recorded(coach, athlete_user, start: datetime, minutes: int) -> TrainingSession:
    """A session whose real time is `start` for `minutes`, however far from its slot.

    Booking needs a future slot and the record-time service refuses a start in another
    month than the slot's, so the hand-built month goes through the same transition the
    service uses (`record_time`: state, audit event) without the service's window check.
    """
    session = booked(coach, athlete_user)
    return engine.transition(
        session,
        "record_time",
        actor="user:test",
        data={"payable_minutes": minutes},
        args={
            "started_at": start,
            "ended_at": start + timedelta(minutes=minutes),
            "payable_minutes": minutes,
            "recorded_at": start + timedelta(minutes=minutes),
        },
    )


@pytest.fixture
def payer(db):
    """An athlete who may book many sessions: returns the user."""
    user, _ = ready_athlete(40)
    return user
