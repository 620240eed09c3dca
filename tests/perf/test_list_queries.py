"""List endpoints cost the same number of queries for one row as for many (no N+1).

Each list is read with a few rows, then with more, by the same client: a query per row
(a related object, a deadline, a balance read in a loop) shows as a difference.
The slots and sessions lists have their own checks beside their tests.
"""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import services as bookings
from payroll import services as payroll
from tests.bookings.conftest import new_slot, ready_athlete
from tests.conftest import client_for, register_athlete

pytestmark = pytest.mark.django_db


def queries_for(client, url: str, expected_rows: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.json()
    body = response.json()
    rows = body["results"] if "results" in body else body["transactions"]
    assert len(rows) == expected_rows
    return len(captured.captured_queries)


def book(user, coach, count: int) -> None:
    for _ in range(count):
        bookings.book_slot(user=user, slot_id=new_slot(coach).pk)


@pytest.mark.parametrize("who", ["athlete", "coach", "staff"])
def test_the_bookings_list(who, coach_obj, staff_user):
    user, athlete_client = ready_athlete(20)
    client = {"athlete": athlete_client, "coach": client_for(coach_obj.user), "staff": client_for(staff_user)}[who]
    book(user, coach_obj, 2)
    few = queries_for(client, "/api/bookings/", 2)
    book(user, coach_obj, 8)
    bookings.cancel_booking(user=user, booking_id=user.athlete.bookings.first().pk)
    assert queries_for(client, "/api/bookings/", 10) == few


def test_the_workflows_list(staff_user):
    client = client_for(staff_user)
    for _ in range(2):
        register_athlete()
    few = queries_for(client, "/api/workflows/?type=onboarding", 2)
    for i in range(8):
        register_athlete(complete=i % 2 == 0)  # with a pending deadline and without
    assert queries_for(client, "/api/workflows/?type=onboarding", 10) == few
    # across every workflow type at once, with the deadlines of a whole page
    assert queries_for(client, "/api/workflows/", 10) == few


def test_the_payroll_reports_list(staff_user):
    client = client_for(staff_user)
    for month in (7, 8):
        payroll.request_report(month=date(2026, month, 1), actor="user:test")
    few = queries_for(client, "/api/payroll/reports/", 2)
    for month in range(1, 7):
        payroll.request_report(month=date(2026, month, 1), actor="user:test")
    assert queries_for(client, "/api/payroll/reports/", 8) == few


def test_an_athletes_credit_transactions(coach_obj):
    user, client = ready_athlete(20)
    book(user, coach_obj, 1)
    few = queries_for(client, "/api/credits/me/", 2)  # the grant and one debit
    book(user, coach_obj, 6)
    bookings.cancel_booking(user=user, booking_id=user.athlete.bookings.first().pk)
    assert queries_for(client, "/api/credits/me/", 9) == few  # and a refund
