"""Demo data for training sessions (called by zea/demo.py after bookings): sessions in
every state. Idempotent: nothing is done once any session has its time recorded.

Bookings can only be made for future slots, and the record-time rule wants the real
start near the scheduled one, so a demo cannot produce past sessions through the API.
Here the real times are set through the engine directly (`engine.transition(...,
"record_time")`, the same transition, audit event and state the service would write)
on sessions booked for the coming days: last month's and this month's real times are
what payroll and the dashboard count.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from sessions import services
from sessions.models import Review, TrainingSession
from zea.workflows import engine, timers
from zea.workflows.models import Timer

State = TrainingSession.State
Kind = Review.Kind

# What happens to the sessions (earliest scheduled first), and when they really took place:
# ("last", day) is that day of last month at 10:00, ("this", hours) that many hours ago.
PLAN = [
    ("both_submitted", ("last", 4), 60),
    ("feedback_only", ("last", 11), 55),
    ("both_submitted", ("last", 18), 75),
    ("both_submitted", ("this", 30), 60),
    ("in_review", ("this", 6), 45),
    ("time_recorded", ("this", 3), 50),
]


def load(*, coaches, athletes) -> None:
    if TrainingSession.objects.filter(time_recorded_at__isnull=False).exists():
        return
    scheduled = list(
        TrainingSession.objects.filter(state=State.SCHEDULED).select_related("coach__user", "athlete__user")
    )
    scheduled.sort(key=lambda s: (s.scheduled_start, str(s.pk)))
    now = timezone.now().replace(second=0, microsecond=0)
    for session, (outcome, when, minutes) in zip(scheduled, PLAN, strict=False):
        started_at = _when(when, now)
        session = _record(session, started_at, started_at + timedelta(minutes=minutes), now)
        if outcome == "time_recorded":
            # Left as recorded: the sweeper opens its branches (as after a lost chord)
            # once `make run` starts the worker and beat.
            continue
        for kind in Kind.values:
            services.open_review(session.pk, kind)
        services.reviews_opened(session.pk)
        if outcome == "in_review":
            _submit(session, Kind.FEEDBACK, 4, "Good pace work.")
        elif outcome == "feedback_only":
            _submit(session, Kind.FEEDBACK, 5, "Great session!")
            _expire_now(session, Kind.EVALUATION)
        else:
            _submit(session, Kind.FEEDBACK, 5, "Loved the drills.")
            _submit(session, Kind.EVALUATION, 4, "Solid technique, work on cadence.")


def _when(when, now) -> datetime:
    tz = ZoneInfo(settings.ZEA_TIME_ZONE)
    which, value = when
    if which == "this":
        # Clamp into this month (early on the 1st, "hours ago" would fall in the last one).
        local = timezone.localtime(now, tz)
        return max(now - timedelta(hours=value), datetime(local.year, local.month, 1, 0, 5, tzinfo=tz))
    first = timezone.localtime(now, tz).date().replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=value)
    return datetime(last_month.year, last_month.month, last_month.day, 10, tzinfo=tz)


def _record(session, started_at, ended_at, now) -> TrainingSession:
    minutes = services.payable_minutes(started_at, ended_at)
    return engine.transition(
        session,
        "record_time",
        actor=engine.actor_of(session.coach.user),
        data={"payable_minutes": minutes, "demo": True},
        args={"started_at": started_at, "ended_at": ended_at, "payable_minutes": minutes, "recorded_at": now},
    )


def _submit(session, kind, rating, text) -> None:
    user = session.athlete.user if kind == Kind.FEEDBACK else session.coach.user
    services.submit_review(session=session, kind=kind, rating=rating, text=text, actor=engine.actor_of(user))


def _expire_now(session, kind) -> None:
    """Bring the branch's deadline forward and fire it the normal way (the demo cannot wait days)."""
    review = Review.objects.get(session=session, kind=kind)
    timer = Timer.objects.pending().get(execution_id=review.pk, name="deadline")
    Timer.objects.filter(pk=timer.pk).update(due_at=timezone.now())
    timers.fire(timer.pk)
