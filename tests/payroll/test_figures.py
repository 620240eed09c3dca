"""Exact figures on a hand-built month, in a time zone whose local day differs from UTC's."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bookings import services as bookings
from payroll import services
from payroll.models import PayrollReport
from sessions.models import TrainingSession
from tests.payroll.conftest import booked, make_coach, recorded
from zea.workflows import engine

pytestmark = pytest.mark.django_db

MEXICO = ZoneInfo("America/Mexico_City")  # UTC-6 all year (no DST since 2022)
HEADER = "coach_id,coach_name,iso_week,week_start,sessions,minutes,hours,hourly_rate,amount"


def local(*args):
    return datetime(*args, tzinfo=MEXICO)


@pytest.fixture
def october(settings, payer):
    """October 2026 in Mexico City: 1 Oct is a Thursday, 31 Oct a Saturday, so ISO weeks
    40 and 44 straddle September and November."""
    settings.ZEA_TIME_ZONE = "America/Mexico_City"
    ana = make_coach("Ana", "Zeta", "40.00")
    bob = make_coach("=Bob", 'O"Neil, Jr', "12.30")  # comma, quote and a leading "=" in one name
    carla = make_coach("Carla", "Núñez", "25.00")
    idle = make_coach("Ivo", "Idle", "99.00")
    # Ana — W40 (Mon 28 Sep): 00:30 local on 1 Oct is 06:30 UTC, in October either way.
    recorded(ana, payer, local(2026, 10, 1, 0, 30), 60)
    # Not October: 20:00 local on 30 Sep is already 1 Oct 02:00 UTC.
    recorded(ana, payer, local(2026, 9, 30, 20, 0), 50)
    # W42 (Mon 12 Oct): two sessions, one crossing Sunday midnight into W43 (counts where it starts).
    recorded(ana, payer, local(2026, 10, 13, 10, 0), 20)
    recorded(ana, payer, local(2026, 10, 18, 23, 30), 90)
    # W43 (Mon 19 Oct): Sunday 25 Oct 19:00 local is Monday 26 Oct 01:00 UTC, UTC's W44.
    recorded(ana, payer, local(2026, 10, 25, 19, 0), 30)
    # W44 (Mon 26 Oct): Saturday 31 Oct 19:00 local is 1 Nov 01:00 UTC: still October here.
    recorded(ana, payer, local(2026, 10, 31, 19, 0), 90)
    # Same ISO week, but November: left for November's report.
    recorded(ana, payer, local(2026, 11, 1, 10, 0), 45)
    # A cancelled session is never paid, even with times on it: the API never lets one
    # be recorded, so forge them to prove the state filter itself excludes it.
    cancelled = booked(ana, payer)
    bookings.cancel_booking(user=payer, booking_id=cancelled.booking_id)
    TrainingSession.objects.filter(pk=cancelled.pk).update(
        actual_start=local(2026, 10, 14, 9, 0), actual_end=local(2026, 10, 14, 10, 0), payable_minutes=60
    )
    assert TrainingSession.objects.get(pk=cancelled.pk).state == TrainingSession.State.CANCELLED
    booked(ana, payer)  # booked, never recorded: nothing to pay
    # Bob at 12.30/h: 61 min = 12.505 and 45 min = 9.225, ties that half-up rounds up
    # (half-even and float rounding would give 12.50 and 9.22).
    recorded(bob, payer, local(2026, 10, 7, 10, 0), 61)
    recorded(bob, payer, local(2026, 10, 20, 9, 0), 45)
    # Carla — W44: one session at dawn, one crossing midnight from 31 Oct into 1 Nov.
    recorded(carla, payer, local(2026, 10, 26, 5, 0), 60)
    recorded(carla, payer, local(2026, 10, 31, 23, 30), 60)
    # Ivo worked in September and November only.
    recorded(idle, payer, local(2026, 9, 15, 10, 0), 60)
    recorded(idle, payer, local(2026, 11, 2, 10, 0), 60)
    return {"ana": ana, "bob": bob, "carla": carla, "idle": idle}


def expected_rows(c):
    ana, bob, carla = str(c["ana"].pk), str(c["bob"].pk), str(c["carla"].pk)
    bob_name = "'=Bob O\"Neil, Jr"  # neutralized so a spreadsheet does not run it as a formula
    return [
        # Sorted by name: "=" sorts before letters.
        [bob, bob_name, "2026-W41", "2026-10-05", "1", "61", "1.02", "12.30", "12.51"],
        [bob, bob_name, "2026-W43", "2026-10-19", "1", "45", "0.75", "12.30", "9.23"],
        [ana, "Ana Zeta", "2026-W40", "2026-09-28", "1", "60", "1.00", "40.00", "40.00"],
        [ana, "Ana Zeta", "2026-W42", "2026-10-12", "2", "110", "1.83", "40.00", "73.33"],
        [ana, "Ana Zeta", "2026-W43", "2026-10-19", "1", "30", "0.50", "40.00", "20.00"],
        [ana, "Ana Zeta", "2026-W44", "2026-10-26", "1", "90", "1.50", "40.00", "60.00"],
        [carla, "Carla Núñez", "2026-W44", "2026-10-26", "2", "120", "2.00", "25.00", "50.00"],
    ]


def expected_totals(c):
    return [
        {"coach_id": str(c["bob"].pk), "coach_name": '=Bob O"Neil, Jr', "sessions": 2, "minutes": 106,
         "hours": "1.77", "amount": "21.74"},  # the weekly amounts as paid: 12.51 + 9.23
        {"coach_id": str(c["ana"].pk), "coach_name": "Ana Zeta", "sessions": 5, "minutes": 290,
         "hours": "4.83", "amount": "193.33"},
        {"coach_id": str(c["carla"].pk), "coach_name": "Carla Núñez", "sessions": 2, "minutes": 120,
         "hours": "2.00", "amount": "50.00"},
    ]  # fmt: skip


def generated(month="2026-10"):
    report, started = services.request_report(month=datetime.strptime(month, "%Y-%m").date(), actor="user:test")
    assert started
    assert services.generate(report.pk) == PayrollReport.State.READY
    return PayrollReport.objects.get(pk=report.pk)


def test_every_cell_and_total_of_a_hand_built_month(october):
    report = generated()
    assert report.state == PayrollReport.State.READY and report.time_zone == "America/Mexico_City"
    lines = report.csv.split("\r\n")
    assert lines[0] == HEADER and lines[-1] == ""
    assert list(csv.reader(io.StringIO(report.csv)))[1:] == expected_rows(october)
    assert report.totals == expected_totals(october)
    assert report.rates == {str(october[k].pk): v for k, v in (("bob", "12.30"), ("ana", "40.00"), ("carla", "25.00"))}


def test_the_raw_csv_quotes_and_neutralizes_the_awkward_name(october):
    report = generated()
    bob_line = report.csv.split("\r\n")[1]
    assert bob_line == f'{october["bob"].pk},"\'=Bob O""Neil, Jr",2026-W41,2026-10-05,1,61,1.02,12.30,12.51'


def test_the_same_month_in_utc_moves_the_sessions_near_midnight(october, settings):
    """The recorded start in ZEA_TIME_ZONE decides: in UTC the edges of the month change."""
    settings.ZEA_TIME_ZONE = "UTC"
    report = generated()
    ana = [row for row in csv.reader(io.StringIO(report.csv)) if row[0] == str(october["ana"].pk)]
    assert [(r[2], r[4], r[5]) for r in ana] == [
        # 30 Sep 20:00 local is 1 Oct 02:00 UTC: in; 31 Oct 19:00 local is 1 Nov UTC: out.
        ("2026-W40", "2", "110"),
        ("2026-W42", "1", "20"),
        ("2026-W43", "1", "90"),  # Sunday 18 Oct 23:30 local is Monday 19 Oct UTC
        ("2026-W44", "1", "30"),  # Sunday 25 Oct 19:00 local is Monday 26 Oct UTC
    ]


def test_november_takes_the_rest_of_the_straddling_week(october):
    report = generated("2026-11")
    rows = list(csv.reader(io.StringIO(report.csv)))[1:]
    by_coach = {(r[1], r[2], r[3]): r[4:6] for r in rows}
    assert by_coach == {
        ("Ana Zeta", "2026-W44", "2026-10-26"): ["1", "45"],  # Sunday 1 Nov: the Monday is in October
        ("Ivo Idle", "2026-W45", "2026-11-02"): ["1", "60"],
    }


def test_an_empty_month_is_a_ready_report_with_only_the_header(payer):
    report = generated("2026-01")
    assert report.csv == HEADER + "\r\n" and report.totals == []


def test_the_audit_trail_replays_the_report(october):
    report = generated()
    from zea.workflows.models import AuditEvent

    events = AuditEvent.objects.filter(execution_id=report.pk).order_by("seq")
    assert [(e.transition, e.target) for e in events] == [
        ("start", "pending"),
        ("generate", "generating"),
        ("complete", "ready"),
    ]
    assert events.last().data == {"rows": 7, "coaches": 3}
    assert engine.SYSTEM_WORKER in {e.actor for e in events}
