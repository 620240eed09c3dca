"""Recorded time, not scheduled time, is what gets paid — through the real services."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bookings import services as bookings
from payroll import services
from payroll.models import PayrollReport
from sessions.models import TrainingSession
from tests.bookings.conftest import new_slot, ready_athlete
from tests.conftest import client_for
from tests.payroll.conftest import make_coach

pytestmark = pytest.mark.django_db
BOOKED_AT = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)  # a Monday


def test_the_recorded_minutes_are_paid_not_the_slot(staff):
    coach = make_coach("Rita", "Real", "60.00")
    # Booking needs a slot in the future and recording needs its end in the past: travel.
    with time_machine.travel(BOOKED_AT, tick=False):
        user, _ = ready_athlete(5)
        sessions = []
        for hour in (2, 4, 6):  # three one-hour slots
            slot = new_slot(coach, start_in=timedelta(hours=hour))
            sessions.append(TrainingSession.objects.get(pk=bookings.book_slot(user=user, slot_id=slot.pk).session_id))
    longer, shorter, unrecorded = sessions
    with time_machine.travel(BOOKED_AT + timedelta(hours=9), tick=False):
        coach_client = client_for(coach.user)
        for session, late_by, minutes in ((longer, 10, 95), (shorter, -20, 35)):
            start = session.scheduled_start + timedelta(minutes=late_by)
            response = coach_client.post(
                f"/api/sessions/{session.pk}/record-time/",
                {"started_at": start.isoformat(), "ended_at": (start + timedelta(minutes=minutes)).isoformat()},
            )
            assert response.status_code == 200 and response.json()["payable_minutes"] == minutes
    report_id = staff.post("/api/payroll/reports/", {"month": "2026-09"}).json()["id"]
    assert services.generate(report_id) == PayrollReport.State.READY
    rows = list(csv.reader(io.StringIO(PayrollReport.objects.get(pk=report_id).csv)))[1:]
    # 95 + 35 = 130 recorded minutes; the slots said 120 (180 with the unrecorded one).
    assert rows == [[str(coach.pk), "Rita Real", "2026-W38", "2026-09-14", "2", "130", "2.17", "60.00", "130.00"]]
    assert TrainingSession.objects.get(pk=unrecorded.pk).payable_minutes is None
