"""Session endpoints: who may do what, and clear refusals that change nothing."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from sessions.models import Review, TrainingSession
from tests.conftest import client_for
from tests.helpers import wait_until
from tests.sessions.conftest import book_session, open_branches, record, times
from zea.workflows.models import AuditEvent

pytestmark = pytest.mark.django_db


def _body(started_at, ended_at):
    return {"started_at": started_at.isoformat(), "ended_at": ended_at.isoformat()}


def _unchanged(session):
    row = TrainingSession.objects.get(pk=session.pk)
    return row.state == "scheduled" and row.payable_minutes is None


@pytest.mark.parametrize(
    ("make_body", "code"),
    [
        (lambda s, now: _body(now - timedelta(hours=1), now - timedelta(hours=2)), "invalid_time_range"),
        (lambda s, now: _body(now - timedelta(hours=1), now - timedelta(hours=1)), "invalid_time_range"),
        (lambda s, now: _body(now - timedelta(minutes=30), now + timedelta(minutes=5)), "time_in_future"),
        (lambda s, now: _body(now - timedelta(hours=13), now - timedelta(minutes=1)), "session_too_long"),
        (
            lambda s, now: _body(s.scheduled_start - timedelta(hours=25), s.scheduled_start - timedelta(hours=24)),
            "too_far_from_schedule",
        ),
        (lambda s, now: {"started_at": "yesterday", "ended_at": "today"}, "invalid"),
        (lambda s, now: {"started_at": now.isoformat()}, "invalid"),
    ],
)
def test_bad_times_are_400_and_change_nothing(session, session_coach, make_body, code):
    response = session_coach.post(f"/api/sessions/{session.pk}/record-time/", make_body(session, timezone.now()))
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["detail"]
    assert _unchanged(session)


def test_the_shift_window_is_configurable(session, session_coach, settings):
    settings.ZEA_SESSION_SHIFT_WINDOW = timedelta(hours=1)
    response = session_coach.post(f"/api/sessions/{session.pk}/record-time/", _body(*times()))  # ~2h off
    assert response.status_code == 400 and response.json()["code"] == "too_far_from_schedule"
    assert "1 hours" in response.json()["detail"]


def test_recording_twice_is_409(session, session_coach):
    url = f"/api/sessions/{session.pk}/record-time/"
    assert session_coach.post(url, _body(*times(60))).status_code == 200
    response = session_coach.post(url, _body(*times(30)))
    assert response.status_code == 409 and response.json()["code"] == "time_already_recorded"
    assert TrainingSession.objects.get(pk=session.pk).payable_minutes == 60


def test_a_cancelled_session_refuses_record_time(session, session_coach):
    from bookings import services as bookings

    bookings.cancel_booking(user=session.athlete.user, booking_id=session.booking_id)
    response = session_coach.post(f"/api/sessions/{session.pk}/record-time/", _body(*times()))
    assert response.status_code == 409 and response.json()["code"] == "session_cancelled"


def test_only_its_coach_records_time(session, session_athlete, other_coach, staff, anon):
    url = f"/api/sessions/{session.pk}/record-time/"
    assert anon.post(url, _body(*times())).status_code == 401
    assert session_athlete.post(url, _body(*times())).status_code == 403
    assert staff.post(url, _body(*times())).status_code == 403
    response = other_coach.post(url, _body(*times()))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert _unchanged(session)


def test_reviews_accept_only_their_party(session, session_athlete, session_coach, other_athlete, other_coach):
    session = open_branches(record(session))
    base = f"/api/sessions/{session.pk}"
    assert session_coach.post(f"{base}/feedback/", {"rating": 5}).status_code == 403
    assert session_athlete.post(f"{base}/evaluation/", {"rating": 5}).status_code == 403
    assert other_athlete.post(f"{base}/feedback/", {"rating": 5}).status_code == 404
    assert other_coach.post(f"{base}/evaluation/", {"rating": 5}).status_code == 404
    assert set(Review.objects.filter(session=session).values_list("state", flat=True)) == {"open"}


@pytest.mark.parametrize(
    "body", [{"rating": 0}, {"rating": 6}, {"rating": "x"}, {}, {"rating": 3, "comment": "x" * 3000}]
)
def test_bad_reviews_are_400(session, session_athlete, body):
    session = open_branches(record(session))
    response = session_athlete.post(f"/api/sessions/{session.pk}/feedback/", body)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert Review.objects.get(session=session, kind="feedback").state == "open"


def test_a_scheduled_session_takes_no_review(session, session_athlete):
    response = session_athlete.post(f"/api/sessions/{session.pk}/feedback/", {"rating": 4})
    assert response.status_code == 409 and response.json()["code"] == "feedback_closed"
    assert not Review.objects.exists()


def test_parties_and_staff_read_sessions_others_do_not(
    session, session_athlete, session_coach, other_athlete, other_coach, staff, anon
):
    url = f"/api/sessions/{session.pk}/"
    for client in (session_athlete, session_coach, staff):
        body = client.get(url).json()
        assert body["id"] == str(session.pk) and body["booking_id"] == str(session.booking_id)
        assert {"feedback", "evaluation", "payable_minutes", "actual_start"} <= body.keys()
    for client in (other_athlete, other_coach):
        assert client.get(url).status_code == 404
        assert client.get("/api/sessions/").json()["count"] == 0
    assert anon.get(url).status_code == 401
    assert session_athlete.get("/api/sessions/").json()["count"] == 1
    assert staff.get("/api/sessions/").json()["count"] == 1


def test_session_list_is_paginated_without_n_plus_one(coach_obj, django_assert_max_num_queries):
    for _ in range(4):
        open_branches(record(book_session(coach_obj)))
    client = client_for(coach_obj.user)
    with django_assert_max_num_queries(6):
        body = client.get("/api/sessions/").json()
    assert body["count"] == 4 and all(row["feedback"]["state"] == "open" for row in body["results"])


def test_the_timeline_shows_the_session_to_its_parties(session, session_athlete, other_athlete):
    record(session)
    body = session_athlete.get(f"/api/workflows/{session.pk}/").json()
    assert [e["transition"] for e in body["events"]] == ["start", "record_time"]
    assert other_athlete.get(f"/api/workflows/{session.pk}/").status_code == 404


@pytest.mark.worker
def test_record_time_opens_both_branches_in_parallel_on_a_real_worker(celery_worker, coach_obj):
    from django.core import mail

    session = book_session(coach_obj)
    coach = client_for(coach_obj.user)
    response = coach.post(f"/api/sessions/{session.pk}/record-time/", _body(*times(45)))
    assert response.status_code == 200 and response.json()["payable_minutes"] == 45
    wait_until(lambda: TrainingSession.objects.get(pk=session.pk).state == "in_review", timeout=20)
    assert sorted(Review.objects.filter(session=session).values_list("kind", flat=True)) == ["evaluation", "feedback"]
    wait_until(lambda: len([m for m in mail.outbox if "session" in m.subject.lower() or "athlete" in m.subject]) >= 2)
    athlete = client_for(session.athlete.user)
    assert athlete.post(f"/api/sessions/{session.pk}/feedback/", {"rating": 5}).status_code == 200
    assert coach.post(f"/api/sessions/{session.pk}/evaluation/", {"rating": 4}).status_code == 200
    assert TrainingSession.objects.get(pk=session.pk).state == "completed"
    assert AuditEvent.objects.filter(execution_id=session.pk, transition="complete").count() == 1


# --- real time across a clock change ---------------------------------------------------


@pytest.mark.parametrize(
    "night",
    [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # 02:00 local becomes 03:00 at 01:00 UTC
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 03:00 local becomes 02:00 at 01:00 UTC
    ],
    ids=["spring", "autumn"],
)
def test_a_session_across_a_clock_change_is_paid_its_real_minutes(coach_obj, settings, night):
    # The API reads times into the platform's zone; real hours across the change must stay
    # what they are: one hour was paid two (spring) or refused as ending first (autumn),
    # and the 12-hour limit was an hour off.
    settings.TIME_ZONE = settings.ZEA_TIME_ZONE = "Europe/Madrid"
    coach = client_for(coach_obj.user)
    with time_machine.travel(night - timedelta(days=1), tick=False):
        short = book_session(coach_obj, start_in=timedelta(days=1))  # scheduled at `night`
        long = book_session(coach_obj, start_in=timedelta(days=1, hours=-10))
    with time_machine.travel(night + timedelta(hours=2), tick=False):
        one_hour = coach.post(f"/api/sessions/{short.pk}/record-time/", _body(night, night + timedelta(hours=1)))
        eleven_and_a_half = coach.post(
            f"/api/sessions/{long.pk}/record-time/",
            _body(night - timedelta(hours=10), night + timedelta(hours=1, minutes=30)),
        )
    assert one_hour.status_code == 200, one_hour.json()
    assert eleven_and_a_half.status_code == 200, eleven_and_a_half.json()
    assert (one_hour.json()["payable_minutes"], eleven_and_a_half.json()["payable_minutes"]) == (60, 690)
    row = TrainingSession.objects.get(pk=short.pk)
    assert (row.actual_start, row.actual_end, row.payable_minutes) == (night, night + timedelta(hours=1), 60)
