"""Onboarding use cases: the only code that starts or moves an Onboarding."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from onboarding.models import Onboarding
from zea.accounts.models import Athlete, User
from zea.accounts.services import create_user
from zea.conf import parse_duration
from zea.errors import Conflict
from zea.workflows import engine
from zea.workflows.engine import Email, Schedule
from zea.workflows.status import deadline_of

State = Onboarding.State


def reminder_times(started_at: datetime, deadline: datetime, now: datetime) -> list[datetime]:
    """When to remind, from ZEA_ONBOARDING_REMINDERS: `50%` of the way to the deadline,
    `1d` before it. Reminders already past, or not before the deadline, are dropped."""
    times = set()
    for spec in settings.ZEA_ONBOARDING_REMINDERS:
        if spec.endswith("%"):
            at = started_at + (deadline - started_at) * (float(spec[:-1]) / 100)
        else:
            at = deadline - parse_duration(spec)
        if now < at < deadline:
            times.add(at)
    return sorted(times)


def _timers(started_at: datetime, now: datetime) -> list[Schedule]:
    deadline = started_at + settings.ZEA_ONBOARDING_TIMEOUT
    reminders = [Schedule(f"reminder:{n}", at) for n, at in enumerate(reminder_times(started_at, deadline, now), 1)]
    return [Schedule("deadline", deadline, deadline=True), *reminders]


def _email(athlete: Athlete, template: str, **context) -> Email:
    return _email_to(athlete.user, template, **context)


def _email_to(user, template: str, **context) -> Email:
    """`user`: anything with the user's `email`, `first_name` and `language`."""
    return Email(
        template=f"onboarding/email/{template}",
        to=[user.email],
        context={"first_name": user.first_name, **context},
        language=user.language,
    )


@transaction.atomic
def register(
    *, email: str, password: str, first_name: str, last_name: str, language: str = ""
) -> tuple[Onboarding, str]:
    """Create the athlete and start its onboarding; return it and an API token."""
    user = create_user(email=email, password=password, first_name=first_name, last_name=last_name, language=language)
    athlete = Athlete.objects.create(user=user)
    now = timezone.now()
    timers = _timers(now, now)
    deadline = timers[0].due_at
    onboarding = engine.start(
        Onboarding,
        actor=engine.actor_of(user),
        athlete=athlete,
        schedule=timers,
        emails=[_email(athlete, "welcome", deadline=deadline.isoformat())],
    )
    token = Token.objects.create(user=user)
    return onboarding, token.key


@transaction.atomic
def update_profile(*, user: User, **profile) -> Onboarding:
    """Save the athlete's profile; the first complete one completes the onboarding,
    in the same transaction. Later edits change no workflow."""
    onboarding = engine.lock(Onboarding, user.athlete.onboarding.pk)
    if onboarding.state == State.EXPIRED or _past_deadline(onboarding):
        raise Conflict(_("The onboarding expired; ask the staff to reopen it."), code="onboarding_expired")
    athlete = Athlete.objects.select_for_update().get(pk=onboarding.athlete_id)
    for name, value in profile.items():
        setattr(athlete, name, value)
    athlete.save()
    if onboarding.state == State.AWAITING_PROFILE and not athlete.missing_fields:
        onboarding = engine.transition(onboarding, "complete_profile", actor=engine.actor_of(user))
    return onboarding


def _past_deadline(onboarding: Onboarding) -> bool:
    """Awaiting its profile after its deadline: expired in effect, whether or not the
    timer has fired yet (a sweep away, or longer while the workers are down)."""
    if onboarding.state != State.AWAITING_PROFILE:
        return False
    deadline = deadline_of(onboarding.pk)
    return deadline is not None and timezone.now() >= deadline


def on_deadline(onboarding: Onboarding, timer) -> str:
    """Timer handler: expire an onboarding still awaiting its profile and deactivate the user."""
    if onboarding.state != State.AWAITING_PROFILE:
        return "noop"
    athlete = onboarding.athlete
    engine.transition(
        onboarding,
        "expire",
        actor=engine.SYSTEM_TIMER,
        data={"timer": timer.pk},
        emails=[_email(athlete, "expired")],
    )
    User.objects.filter(pk=athlete.user_id).update(is_active=False)
    return "expired"


def on_deadlines(workflows: dict, timers: list) -> dict:
    """Bulk timer handler (a sweep after an outage): expire every onboarding still
    awaiting its profile, deactivate their users, in a handful of queries. The rows carry
    their user's id, address, name and language (`Onboarding.bulk_lock_values`)."""
    timer_of = {timer.execution_id: timer for timer in timers}
    waiting = [
        workflows[execution_id] for execution_id in timer_of if workflows[execution_id].state == State.AWAITING_PROFILE
    ]
    moved = engine.bulk_transition(
        waiting,
        "expire",
        actor=engine.SYSTEM_TIMER,
        data=lambda onboarding: {"timer": timer_of[onboarding.pk].pk},
        emails=lambda onboarding: [_email_to(onboarding, "expired")],
    )
    User.objects.filter(pk__any=[onboarding.user_id for onboarding in moved]).update(is_active=False)
    expired = {onboarding.pk for onboarding in moved}
    return {timer.pk: "expired" if timer.execution_id in expired else "noop" for timer in timers}


def on_reminder(onboarding: Onboarding, timer) -> str:
    if onboarding.state != State.AWAITING_PROFILE:
        return "noop"
    deadline = deadline_of(onboarding.pk)
    if deadline is None or deadline <= timezone.now():
        return "noop"  # the deadline passed too (e.g. after an outage): a reminder would mislead
    engine.notify(onboarding, _email(onboarding.athlete, "reminder", deadline=deadline.isoformat() if deadline else ""))
    return "reminded"


@transaction.atomic
def reopen(onboarding: Onboarding, *, actor: str) -> Onboarding:
    """Staff: a new deadline from now, the account active again, audited."""
    now = timezone.now()
    onboarding = engine.transition(
        onboarding,
        "reopen",
        actor=actor,
        schedule=_timers(now, now),
        emails=[_email(onboarding.athlete, "reopened", deadline=(now + settings.ZEA_ONBOARDING_TIMEOUT).isoformat())],
    )
    User.objects.filter(pk=onboarding.athlete.user_id).update(is_active=True)
    return onboarding
