"""Training-session use cases: the only code that starts or moves a TrainingSession or
one of its two review branches.

Lock order: a review, then its session (submit and expiry alike), so the branch that
ends last always sees the other one ended and finalizes the session, exactly once.
Opening a branch share-locks the session, so the two open side by side; a transaction
that will end a branch never takes the share lock before the exclusive one.
"""

import logging
from datetime import UTC, datetime, timedelta

from celery import chord, current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sessions import signals
from sessions.models import Review, TrainingSession
from zea.constraints import constraint_of
from zea.errors import Conflict, Invalid, NotFound
from zea.workflows import dispatch, engine
from zea.workflows.engine import Email, Schedule

logger = logging.getLogger(__name__)
State = TrainingSession.State
Kind = Review.Kind
MAX_DURATION = timedelta(hours=12)
CLOCK_SKEW = timedelta(minutes=1)


def chord_stall() -> timedelta:
    """A recorded session whose branches are still not open this long after recording
    lost its chord (message, worker or result keys): the sweeper opens them itself."""
    return max(2 * settings.ZEA_SWEEP_INTERVAL, timedelta(seconds=2))


CLOSED_CODES = {Kind.FEEDBACK: "feedback_closed", Kind.EVALUATION: "evaluation_closed"}
# One whole sentence per branch, so each translates as a whole.
NOT_OPEN_DETAILS = {
    Kind.FEEDBACK: _("This session is not open for feedback."),
    Kind.EVALUATION: _("This session is not open for evaluation."),
}
CLOSED_DETAILS = {
    Kind.FEEDBACK: _("The feedback for this session is closed (%(state)s)."),
    Kind.EVALUATION: _("The evaluation for this session is closed (%(state)s)."),
}


@transaction.atomic(savepoint=False)
def schedule_for_booking(*, booking, actor: str) -> TrainingSession:
    """Start the session of a just-confirmed booking (called inside the booking's transaction)."""
    slot = booking.slot
    return engine.start(
        TrainingSession,
        actor=actor,
        data={"booking": str(booking.pk)},
        booking=booking,
        coach_id=slot.coach_id,
        athlete_id=booking.athlete_id,
        scheduled_start=slot.starts_at,
        scheduled_end=slot.ends_at,
    )


@transaction.atomic(savepoint=False)
def cancel_for_booking(*, booking, actor: str) -> TrainingSession | None:
    """Cancel the session of a cancelled booking; a no-op when it is already cancelled."""
    session = TrainingSession.objects.filter(booking=booking).first()
    if session is None or session.state == State.CANCELLED:
        return session
    # Refused once its time is recorded (a coach may record a session that began before
    # its slot): the booking's cancel answers with the contract's code, and rolls back.
    return engine.transition(
        session,
        "cancel",
        actor=actor,
        data={"booking": str(booking.pk)},
        refused_code="not_cancellable",
        refused_detail=_("This booking can no longer be cancelled: its session's time is recorded."),
    )


def payable_minutes(started_at: datetime, ended_at: datetime) -> int:
    """Whole minutes, rounded half up (59m30s pays 60), of real time (see `record_time`)."""
    return int((ended_at.astimezone(UTC) - started_at.astimezone(UTC)).total_seconds() + 30) // 60


def _check_times(session: TrainingSession, started_at: datetime, ended_at: datetime, now: datetime) -> None:
    if ended_at <= started_at:
        raise Invalid(_("ended_at must be after started_at."), code="invalid_time_range")
    if ended_at > now + CLOCK_SKEW:
        raise Invalid(_("A session cannot end in the future."), code="time_in_future")
    if ended_at - started_at > MAX_DURATION:
        raise Invalid(_("A session lasts at most 12 hours."), code="session_too_long")
    window = settings.ZEA_SESSION_SHIFT_WINDOW
    if abs(started_at - session.scheduled_start) > window:
        hours = int(window.total_seconds() // 3600)
        raise Invalid(
            _("started_at must lie within %(hours)s hours of the scheduled start.") % {"hours": hours},
            code="too_far_from_schedule",
        )


def session_for(user, session_id, *, as_coach: bool = False, as_athlete: bool = False) -> TrainingSession:
    """The session if `user` may act on it in that role (staff see all); 404 otherwise."""
    session = TrainingSession.objects.select_related("coach", "athlete").filter(pk=session_id).first()
    if session is None:
        raise NotFound(_("No such session."))
    allowed = (
        (as_coach and session.coach.user_id == user.pk)
        or (as_athlete and session.athlete.user_id == user.pk)
        or (not as_coach and not as_athlete and (user.is_staff or session.is_party(user)))
    )
    if not allowed:
        raise NotFound(_("No such session."))
    return session


@transaction.atomic
def record_time(*, session: TrainingSession, started_at: datetime, ended_at: datetime, actor: str) -> TrainingSession:
    """Store the real times and payable minutes at once; the review branches open after
    commit (a chord), so nothing about them delays this answer."""
    now = timezone.now()
    # In UTC before any arithmetic: two times in the same zone subtract and compare by the
    # wall clock, so a session across a clock change would be paid an hour off (or its
    # valid times refused).
    started_at, ended_at = started_at.astimezone(UTC), ended_at.astimezone(UTC)
    locked = engine.lock(TrainingSession, session.pk)
    if locked.state == State.CANCELLED:
        raise Conflict(_("The session was cancelled."), code="session_cancelled")
    if locked.state != State.SCHEDULED:
        raise Conflict(_("The real time of this session is already recorded."), code="time_already_recorded")
    _check_times(locked, started_at, ended_at, now)
    minutes = payable_minutes(started_at, ended_at)
    recorded = engine.transition(
        locked,
        "record_time",
        actor=actor,
        data={"payable_minutes": minutes},
        args={"started_at": started_at, "ended_at": ended_at, "payable_minutes": minutes, "recorded_at": now},
    )
    signals.time_recorded.send(sender=TrainingSession, session=recorded)
    # The chord is built by a worker, not here: a process that starts a chord subscribes to
    # its results in Redis, and a request must never wait on Redis (see dispatch).
    transaction.on_commit(lambda: dispatch.safe_send("sessions.tasks.launch_reviews", args=[str(recorded.pk)]))
    return recorded


def launch_reviews(session_id) -> None:
    """Open both branches in parallel: a chord whose body moves the session on. Losing it
    loses nothing: the sweeper opens whatever is missing (see repair_stalled)."""
    sig = current_app.signature
    chord(
        [sig("sessions.tasks.open_review", args=[str(session_id), kind]) for kind in Kind.values],
        sig("sessions.tasks.reviews_opened", args=[str(session_id)], immutable=True),
    ).apply_async()


def _deadline(session: TrainingSession, kind: str) -> datetime:
    timeout = settings.ZEA_FEEDBACK_TIMEOUT if kind == Kind.FEEDBACK else settings.ZEA_EVALUATION_TIMEOUT
    # From the recording, not from when a worker got to it: a late chord or a repair
    # gives the same deadline.
    return session.time_recorded_at + timeout


def _request_email(session: TrainingSession, kind: str, deadline: datetime) -> Email:
    user = session.athlete.user if kind == Kind.FEEDBACK else session.coach.user
    return Email(
        template=f"sessions/email/{kind}_request",
        to=[user.email],
        context={"first_name": user.first_name, "session_id": str(session.pk), "deadline": deadline.isoformat()},
        language=getattr(user, "language", ""),
    )


@transaction.atomic
def open_review(session_id, kind: str, *, notify: bool = True) -> Review | None:
    """Create one branch (its row, timer and request email) if it does not exist yet.
    Idempotent: a duplicate delivery, the chord and the sweeper may all call it.

    The session is share-locked: it cannot move meanwhile, yet the two branches open at
    the same time instead of one after the other. Two openings of the same branch meet
    at the unique constraint, and the later one returns the earlier one's review.
    """
    session = engine.lock(TrainingSession, session_id, shared=True)
    if session is None or session.state not in (State.TIME_RECORDED, State.IN_REVIEW):
        return None
    existing = Review.objects.filter(session=session, kind=kind).first()
    if existing is not None:
        return existing
    deadline = _deadline(session, kind)
    try:
        with transaction.atomic():  # a savepoint: the twin may insert first
            return engine.start(
                Review,
                actor=engine.SYSTEM_WORKER,
                data={"session": str(session.pk), "kind": kind},
                session=session,
                kind=kind,
                deadline=deadline,
                schedule=[Schedule("deadline", deadline, deadline=True)],
                emails=[_request_email(session, kind, deadline)] if notify else [],
            )
    except IntegrityError as exc:
        if constraint_of(exc) != "review_one_per_kind":
            raise
    return Review.objects.get(session=session, kind=kind)


@transaction.atomic
def reviews_opened(session_id) -> str | None:
    """The chord's body (and the sweeper's repair): move the session into review once
    both branches exist; finalize at once if both already ended."""
    session = engine.lock(TrainingSession, session_id)
    if session is None:
        return None
    reviews = list(Review.objects.filter(session=session))
    if session.state == State.TIME_RECORDED and len(reviews) == len(Kind.values):
        session = engine.transition(session, "open_reviews", actor=engine.SYSTEM_WORKER)
    return _finalize_if_done(session, reviews)


def _finalize_if_done(session: TrainingSession, reviews: list[Review]) -> str:
    """Under the session's lock: complete it when every branch has ended (exactly once)."""
    if session.state in (State.TIME_RECORDED, State.IN_REVIEW) and len(reviews) == len(Kind.values):
        if all(review.is_ended for review in reviews):
            session = engine.transition(
                session, "complete", actor=engine.SYSTEM_WORKER, data={r.kind: r.state for r in reviews}
            )
    return session.state


@transaction.atomic
def submit_review(*, session: TrainingSession, kind: str, rating: int, text: str, actor: str) -> Review:
    """The athlete's feedback or the coach's evaluation; 409 `<kind>_closed` once it
    expired or was submitted (or the session was never recorded)."""
    review = Review.objects.filter(session=session, kind=kind).first()
    if review is None:
        # Submitted before the chord got to it: open the branch here (idempotent). The
        # session's exclusive lock first, which ending the branch needs anyway: taken
        # after open_review's share lock, it would wait on a chord opening this same
        # branch while that one waits on our new review (a deadlock).
        engine.lock(TrainingSession, session.pk)
        # No request email: this very submission answers it.
        review = open_review(session.pk, kind, notify=False)
    if review is None:
        raise Conflict(NOT_OPEN_DETAILS[kind], code=CLOSED_CODES[kind])
    if review.state == Review.State.OPEN and timezone.now() >= review.deadline:
        # Past its deadline, whether or not the timer has expired it yet (a sweep away, or
        # longer while the workers are down): refused as if it had.
        raise Conflict(CLOSED_DETAILS[kind] % {"state": Review.State.EXPIRED}, code=CLOSED_CODES[kind])
    review = engine.transition(
        review,
        "submit",
        actor=actor,
        data={"kind": kind},
        args={"rating": rating, "text": text, "submitted_at": timezone.now()},
        refused_code=CLOSED_CODES[kind],
        refused_detail=CLOSED_DETAILS[kind] % {"state": review.state},
    )
    _after_branch_ended(review)
    return review


def on_review_deadline(review: Review, timer) -> str:
    """Timer handler (review row locked): expire an open branch, then maybe finalize."""
    if review.state != Review.State.OPEN:
        return "noop"
    review = engine.transition(review, "expire", actor=engine.SYSTEM_TIMER, data={"timer": timer.pk})
    _after_branch_ended(review)
    return "expired"


def _after_branch_ended(review: Review) -> None:
    session = engine.lock(TrainingSession, review.session_id)
    _finalize_if_done(session, list(Review.objects.filter(session=session)))


def repair_stalled(*, now) -> int:
    """Sweeper hook: a recorded session whose chord was lost (message, worker or result
    keys) gets its missing branches and its body run here, without duplicates. Sessions
    waiting on people cost nothing here: only stalled ones are selected."""
    open_reviews = Review.objects.filter(session=OuterRef("pk"), state=Review.State.OPEN)
    stalled = TrainingSession.objects.filter(
        Q(state=State.TIME_RECORDED, time_recorded_at__lt=now - chord_stall())
        | Q(state=State.IN_REVIEW, reviews__isnull=False) & ~Q(Exists(open_reviews))
    ).distinct()
    repaired = 0
    for session_id in stalled.values_list("pk", flat=True)[:500]:
        for kind in Kind.values:
            open_review(session_id, kind)
        reviews_opened(session_id)
        repaired += 1
    return repaired
