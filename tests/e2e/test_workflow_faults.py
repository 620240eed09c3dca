"""Break the running stack while bookings and sessions are in flight; check that every
workflow reaches the right end, each effect happens once, and `zea verify` passes."""

import threading
import time
from pathlib import Path

import pytest

from tests.e2e.stack import PROFILE, Platform

FAST_REVIEWS = {"ZEA_FEEDBACK_TIMEOUT": "4s", "ZEA_EVALUATION_TIMEOUT": "6s"}


def _booked_sessions(stack, count):
    platform = Platform(stack)
    coach = platform.coach()
    slots = platform.slots(coach, count)
    athletes = [platform.athlete() for _ in range(count)]
    sessions = []
    for athlete, slot in zip(athletes, slots, strict=True):
        status, booking = platform.book(athlete, slot)
        assert status == 201, booking
        sessions.append(booking["session_id"])
    return platform, coach, athletes, sessions


def _session(stack, session_id):
    return stack.call("GET", f"/api/sessions/{session_id}/", token=stack.staff_token)[1]


def _all_completed_once(stack, session_ids):
    return stack.each_once(session_ids, transition="complete")


def _subjects(stack, email):
    return [m.split("Subject: ")[1].splitlines()[0] for m in stack.sent_mail(email)]


def _emails(stack, email, subject) -> int:
    """How many distinct emails with `subject` reached `email`. Delivery is at-least-once:
    a worker killed between a send and its commit sends again, with the same Message-ID."""
    return len({m.split("Message-ID: ")[1].splitlines()[0] for m in stack.sent_mail(email) if subject in m})


@pytest.mark.stack_env(**FAST_REVIEWS)
def test_worker_killed_with_chords_and_timers_in_flight(stack):
    stack.start("web", "worker", "beat")
    platform, coach, athletes, sessions = _booked_sessions(stack, 5)
    for session_id in sessions:
        status, body = platform.record_time(coach, session_id)
        assert status == 200 and body["payable_minutes"] == 45, body
    stack.kill("worker")  # kill -9: chords, their branches and emails are mid-flight
    for athlete, session_id in zip(athletes[:2], sessions[:2], strict=True):
        status, body = stack.call(
            "POST", f"/api/sessions/{session_id}/feedback/", {"rating": 5}, token=athlete["token"]
        )
        assert status == 200, body  # the API does not need a worker
    time.sleep(1)
    stack.start("worker")
    stack.wait(lambda: _all_completed_once(stack, sessions), timeout=40, what="every session to complete once")
    for index, session_id in enumerate(sessions):
        session = _session(stack, session_id)
        assert session["feedback"]["state"] == ("submitted" if index < 2 else "expired")
        assert session["evaluation"]["state"] == "expired"

    def feedback_requests():
        return [_emails(stack, a["email"], "Subject: How was your training session?") for a in athletes]

    def as_expected(counts):
        # One request each; none for a feedback given before the chord opened its branch
        # (the submission opened it), one if the chord got there first: never two.
        return counts[2:] == [1] * (len(athletes) - 2) and all(n in (0, 1) for n in counts[:2])

    stack.wait(
        lambda: as_expected(feedback_requests()),
        timeout=30,
        what="one feedback request per athlete still asked for it",
        seen=feedback_requests,
    )
    time.sleep(2)
    assert as_expected(feedback_requests())
    assert _emails(stack, coach["email"], "Subject: Evaluate your athlete") == len(sessions)
    assert stack.manage("zea", "verify").returncode == 0


@pytest.mark.stack_env(**FAST_REVIEWS)
def test_redis_flushed_with_a_chord_in_flight_and_timers_pending(stack):
    stack.start("web", "worker", "beat")
    platform, coach, athletes, sessions = _booked_sessions(stack, 4)
    for session_id in sessions:
        assert platform.record_time(coach, session_id)[0] == 200
    stack.flush_redis()  # chord counters, queued branch tasks, ETA timers: all gone
    stack.wait(lambda: _all_completed_once(stack, sessions), timeout=40, what="every session to complete once")
    assert all(_session(stack, s)["feedback"]["state"] == "expired" for s in sessions)
    assert stack.manage("zea", "verify").returncode == 0


def test_redis_down_during_bookings_loses_no_booking_and_no_email(stack):
    stack.start("web", "worker", "beat")
    platform = Platform(stack)
    coach = platform.coach()
    slots = platform.slots(coach, 4)
    athletes = [platform.athlete() for _ in range(4)]
    stack.redis_down()
    status, health = stack.call("GET", "/healthz/")
    assert status == 503 and health["redis"].startswith("error")
    for athlete, slot in zip(athletes, slots, strict=True):
        status, booking = platform.book(athlete, slot)
        assert status == 201 and booking["state"] == "confirmed", booking  # PostgreSQL is the truth
    time.sleep(1)
    stack.redis_up()  # a fresh, empty Redis: every message sent before is gone
    stack.wait(
        lambda: all(any(s.startswith("Booking confirmed") for s in _subjects(stack, a["email"])) for a in athletes),
        timeout=45,
        what="the confirmations once Redis is back",
    )
    stack.wait(lambda: sum(s.startswith("New booking") for s in _subjects(stack, coach["email"])) == 4, timeout=20)
    time.sleep(3)
    for athlete in athletes:
        assert sum(s.startswith("Booking confirmed") for s in _subjects(stack, athlete["email"])) == 1
    assert sum(s.startswith("New booking") for s in _subjects(stack, coach["email"])) == 4
    assert stack.manage("zea", "verify").returncode == 0


def test_web_killed_mid_load_leaves_no_half_written_booking(stack):
    stack.start("web", "worker", "beat")
    platform = Platform(stack)
    coach = platform.coach()
    slots = platform.slots(coach, 6, capacity=3)
    athletes = [platform.athlete(credits=6) for _ in range(6)]
    stop = threading.Event()
    answers = []

    def client(athlete):
        i = 0
        while not stop.is_set():
            try:
                answers.append(platform.book(athlete, slots[i % len(slots)])[0])
            except OSError:
                answers.append("connection error")
                time.sleep(0.05)
            i += 1

    threads = [threading.Thread(target=client, args=(a,)) for a in athletes]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    stack.kill("web")
    time.sleep(0.5)
    stack.start("web")
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert 201 in answers and "connection error" in answers
    assert 500 not in answers
    confirmed = stack.sql("SELECT count(*) FROM bookings_booking WHERE state = 'confirmed'")[0][0]
    assert confirmed == stack.sql("SELECT coalesce(sum(booked_count), 0) FROM bookings_slot")[0][0]
    result = stack.manage("zea", "verify", check=False)
    assert result.returncode == 0, result.stdout


PG_LOG = Path("/var/log/postgresql")


def _deadlocks_logged() -> int:
    return (
        sum(path.read_text(errors="replace").count("deadlock detected") for path in PG_LOG.glob("postgresql-*.log"))
        if PG_LOG.exists()
        else 0
    )


def test_concurrency_storm_books_cancels_and_completes_profiles_without_500_or_deadlock(stack):
    stack.start("web", "worker", "beat")
    platform = Platform(stack)
    coach = platform.coach()
    slots = platform.slots(coach, 3, capacity=2)
    athletes = [platform.athlete(credits=10) for _ in range(12)]
    deadlocks_before = _deadlocks_logged()
    statuses = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(athletes) + 4)

    def athlete_client(athlete):
        barrier.wait()
        for round_ in range(6):
            status, booking = platform.book(athlete, slots[round_ % len(slots)])
            with lock:
                statuses.append(status)
            if status == 201:
                status, _ = stack.call("POST", f"/api/bookings/{booking['id']}/cancel/", token=athlete["token"])
                with lock:
                    statuses.append(status)

    def newcomer():
        barrier.wait()
        for _ in range(3):
            fresh = stack.register()
            status, _ = stack.call("PUT", "/api/athletes/me/profile/", PROFILE, token=fresh["token"])
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=athlete_client, args=(a,)) for a in athletes]
    threads += [threading.Thread(target=newcomer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses and all(status < 500 for status in statuses), sorted(set(statuses))
    assert set(statuses) <= {200, 201, 409}, sorted(set(statuses))
    assert _deadlocks_logged() == deadlocks_before
    result = stack.manage("zea", "verify", check=False)
    assert result.returncode == 0, result.stdout
