"""Session completion: real time at once, two review branches in parallel, completed once."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from sessions import services
from sessions.models import Review, TrainingSession
from tests.helpers import race
from tests.sessions.conftest import book_session, open_branches, record, times
from zea.errors import DomainError
from zea.workflows import engine, sweeper, timers, verify
from zea.workflows.models import AuditEvent, OutboxMessage, Timer

pytestmark = pytest.mark.django_db


def _iso(moment):
    return moment.isoformat()


def test_payable_minutes_are_stored_and_visible_right_after_record_time(session, session_coach):
    started_at, ended_at = times(minutes=75)
    response = session_coach.post(
        f"/api/sessions/{session.pk}/record-time/", {"started_at": _iso(started_at), "ended_at": _iso(ended_at)}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "time_recorded" and body["payable_minutes"] == 75
    assert body["feedback"]["state"] == "not_open"  # no review has to happen first
    row = TrainingSession.objects.get(pk=session.pk)
    assert (row.actual_start, row.actual_end, row.payable_minutes) == (started_at, ended_at, 75)


@pytest.mark.parametrize(("seconds", "minutes"), [(3600, 60), (3629, 60), (3630, 61), (59, 1), (29 * 60 + 29, 29)])
def test_payable_minutes_round_half_up(seconds, minutes):
    start = timezone.now()
    assert services.payable_minutes(start, start + timedelta(seconds=seconds)) == minutes


def _complete_events(session):
    return AuditEvent.objects.filter(execution_id=session.pk, transition="complete").count()


def _end_branch(session, kind, how):
    review = Review.objects.get(session=session, kind=kind)
    if how == "submitted":
        services.submit_review(session=session, kind=kind, rating=4, text="fine", actor="user:0")
    else:
        with time_machine.travel(review.deadline + timedelta(seconds=1), tick=False):
            sweeper.sweep()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("feedback", "submitted"), ("evaluation", "submitted")),
        (("feedback", "submitted"), ("evaluation", "expired")),
        (("feedback", "expired"), ("evaluation", "submitted")),
        (("evaluation", "expired"), ("feedback", "expired")),
        (("evaluation", "submitted"), ("feedback", "expired")),
    ],
)
def test_every_ending_completes_the_session_exactly_once(session, first, second, settings):
    if first == ("evaluation", "expired"):
        settings.ZEA_FEEDBACK_TIMEOUT = timedelta(days=10)  # so the evaluation can expire first
    session = open_branches(record(session))
    assert session.state == "in_review"
    _end_branch(session, *first)
    assert TrainingSession.objects.get(pk=session.pk).state == "in_review"
    _end_branch(session, *second)
    session = TrainingSession.objects.get(pk=session.pk)
    assert session.state == "completed"
    assert {r.kind: r.state for r in Review.objects.filter(session=session)} == dict([first, second])
    assert _complete_events(session) == 1
    with time_machine.travel(timezone.now() + timedelta(days=30), tick=False):
        sweeper.sweep()
    assert _complete_events(session) == 1 and not list(verify.verify_all())


def test_expiry_uses_each_branch_own_timeout(session, settings):
    session = open_branches(record(session))
    feedback, evaluation = (Review.objects.get(session=session, kind=k) for k in ("feedback", "evaluation"))
    assert feedback.deadline == session.time_recorded_at + settings.ZEA_FEEDBACK_TIMEOUT
    assert evaluation.deadline == session.time_recorded_at + settings.ZEA_EVALUATION_TIMEOUT
    with time_machine.travel(feedback.deadline + timedelta(seconds=1), tick=False):
        sweeper.sweep()
    feedback.refresh_from_db()
    evaluation.refresh_from_db()
    assert (feedback.state, evaluation.state) == ("expired", "open")


def test_a_late_submission_after_expiry_is_refused(session, session_athlete):
    session = open_branches(record(session))
    _end_branch(session, "feedback", "expired")
    response = session_athlete.post(f"/api/sessions/{session.pk}/feedback/", {"rating": 5})
    assert response.status_code == 409 and response.json()["code"] == "feedback_closed"


def test_a_submission_past_the_deadline_is_refused_before_the_timer_fires(session, session_athlete):
    session = open_branches(record(session))
    feedback = Review.objects.get(session=session, kind="feedback")
    with time_machine.travel(feedback.deadline + timedelta(minutes=10), tick=False):  # no sweep yet
        response = session_athlete.post(f"/api/sessions/{session.pk}/feedback/", {"rating": 5})
    assert response.status_code == 409 and response.json()["code"] == "feedback_closed"
    assert "expired" in response.json()["detail"]
    feedback.refresh_from_db()
    assert (feedback.state, feedback.rating) == ("open", None)  # the timer expires it, as ever
    with time_machine.travel(feedback.deadline - timedelta(seconds=1), tick=False):
        assert session_athlete.post(f"/api/sessions/{session.pk}/feedback/", {"rating": 4}).status_code == 200


def test_submitting_twice_is_refused(session, session_coach):
    session = open_branches(record(session))
    url = f"/api/sessions/{session.pk}/evaluation/"
    assert session_coach.post(url, {"rating": 3, "notes": "ok"}).status_code == 200
    response = session_coach.post(url, {"rating": 5})
    assert response.status_code == 409 and response.json()["code"] == "evaluation_closed"
    assert Review.objects.get(session=session, kind="evaluation").rating == 3


def test_a_review_submitted_before_the_chord_ran_opens_its_branch(session, session_athlete):
    session = record(session)  # no chord ran (no worker in this test)
    response = session_athlete.post(f"/api/sessions/{session.pk}/feedback/", {"rating": 5, "comment": "great"})
    assert response.status_code == 200, response.json()
    review = Review.objects.get(session=session, kind="feedback")
    assert review.state == "submitted" and review.text == "great"
    assert Timer.objects.filter(execution_id=review.pk, cancelled_at__isnull=False).count() == 1
    # no email asking the athlete for the feedback just given
    assert not OutboxMessage.objects.filter(execution_id=review.pk).exists()
    assert not OutboxMessage.objects.filter(template="sessions/email/feedback_request").exists()


def test_free_text_never_reaches_the_audit_trail(session):
    session = open_branches(record(session))
    services.submit_review(session=session, kind="feedback", rating=2, text="secret remark", actor="user:0")
    for event in AuditEvent.objects.all():
        assert "secret remark" not in str(event.data)


def test_the_sweeper_repairs_a_session_whose_chord_was_lost(session):
    session = record(session)
    assert sweeper.sweep().repaired == 0  # too early: the chord may still be on its way
    with time_machine.travel(timezone.now() + services.chord_stall() + timedelta(seconds=1), tick=False):
        assert sweeper.sweep().repaired == 1
        assert sweeper.sweep().repaired == 0  # healthy now: waiting for people
    session = TrainingSession.objects.get(pk=session.pk)
    assert session.state == "in_review" and Review.objects.filter(session=session).count() == 2
    assert OutboxMessage.objects.filter(template__startswith="sessions/email/").count() == 2


def test_the_sweeper_runs_a_lost_chord_body_after_both_branches_ended(session):
    session = record(session)
    for kind in ("feedback", "evaluation"):  # the header ran, the body never did
        services.open_review(session.pk, kind)
    services.submit_review(session=session, kind="feedback", rating=4, text="", actor="user:0")
    services.submit_review(session=session, kind="evaluation", rating=4, text="", actor="user:0")
    session = TrainingSession.objects.get(pk=session.pk)
    assert session.state == "completed"  # the last branch finalizes even without the body
    services.reviews_opened(session.pk)  # a late body changes nothing
    assert _complete_events(session) == 1


def test_opening_a_branch_twice_creates_it_once(session):
    session = record(session)
    first = services.open_review(session.pk, "feedback")
    second = services.open_review(session.pk, "feedback")
    assert first.pk == second.pk
    assert OutboxMessage.objects.filter(execution_id=first.pk).count() == 1
    assert Timer.objects.filter(execution_id=first.pk).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_two_branches_open_side_by_side_not_one_after_the_other(coach_obj):
    session = record(book_session(coach_obj))
    evaluation_opened = threading.Event()

    def open_feedback_and_hold_the_transaction():
        with transaction.atomic():
            services.open_review(session.pk, "feedback")
            # The session stays locked until this commits: the other branch must not wait.
            assert evaluation_opened.wait(timeout=10), "the evaluation waited for the feedback branch"

    def open_evaluation():
        services.open_review(session.pk, "evaluation")
        evaluation_opened.set()

    assert race(open_feedback_and_hold_the_transaction, open_evaluation) == [None, None]
    assert sorted(Review.objects.filter(session=session).values_list("kind", flat=True)) == ["evaluation", "feedback"]


@pytest.mark.django_db(transaction=True)
def test_a_review_submitted_while_the_chord_opens_that_branch_goes_through(coach_obj):
    """The contract smoke's path: the coach evaluates right after recording, while the
    chord is opening the evaluation branch (it holds the session's share lock)."""
    session = record(book_session(coach_obj))
    chord_holds_the_session = threading.Event()

    def chord_opens_the_evaluation():
        with transaction.atomic():
            engine.lock(TrainingSession, session.pk, shared=True)  # as open_review begins
            chord_holds_the_session.set()
            time.sleep(0.5)  # the coach's submission arrives meanwhile
            services.open_review(session.pk, "evaluation")

    def coach_evaluates():
        assert chord_holds_the_session.wait(timeout=10)
        services.submit_review(session=session, kind="evaluation", rating=4, text="", actor="user:0")

    assert race(chord_opens_the_evaluation, coach_evaluates) == [None, None]
    (review,) = Review.objects.filter(session=session, kind="evaluation")
    assert review.state == "submitted" and review.rating == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_one_branch_opened_twice_at_the_same_moment_exists_once(coach_obj, attempt):
    session = record(book_session(coach_obj))
    opened = []
    outcomes = race(*[lambda: opened.append(services.open_review(session.pk, "feedback").pk)] * 2)
    assert outcomes == [None, None]
    (review,) = Review.objects.filter(session=session, kind="feedback")
    assert opened == [review.pk, review.pk]  # the later one answers with the earlier one's review
    assert OutboxMessage.objects.filter(execution_id=review.pk).count() == 1
    assert Timer.objects.filter(execution_id=review.pk).count() == 1
    assert AuditEvent.objects.filter(execution_id=review.pk).count() == 1


def test_a_cancelled_booking_cancels_the_scheduled_session(session):
    from bookings import services as bookings

    bookings.cancel_booking(user=session.athlete.user, booking_id=session.booking_id)
    assert TrainingSession.objects.get(pk=session.pk).state == "cancelled"


def _race_feedback_against_its_deadline(coach):
    from tests.sessions.conftest import book_session

    session = open_branches(record(book_session(coach)))
    review = Review.objects.get(session=session, kind="feedback")
    timer = Timer.objects.get(execution_id=review.pk, name="deadline")
    submitted, fired = race(
        lambda: services.submit_review(session=session, kind="feedback", rating=5, text="", actor="user:0"),
        lambda: timers.fire(timer.pk, now=timer.due_at),
    )
    assert fired is None, fired
    return review, [submitted.code] if isinstance(submitted, DomainError) else []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(4))
def test_feedback_submitted_as_its_timer_fires_leaves_one_outcome(coach_obj, attempt):
    review, refusals = _race_feedback_against_its_deadline(coach_obj)
    review.refresh_from_db()
    events = [e.target for e in AuditEvent.objects.filter(execution_id=review.pk).order_by("seq")]
    assert events == ["open", review.state]
    if review.state == "submitted":
        assert not refusals and review.rating == 5
    else:
        assert review.state == "expired" and refusals == ["feedback_closed"]
    assert not list(verify.verify_all())
