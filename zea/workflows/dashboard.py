"""The operators' figures: what the admin dashboard shows and `zea stuck` lists.

Every figure carries the admin changelist URL whose filters select exactly the rows it
counts, so a number on the dashboard is always one click from the rows behind it.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from zea.workflows import status
from zea.workflows.models import OutboxMessage, Timer
from zea.workflows.registry import workflow_model, workflow_types

# A session whose reviews were not opened this long after its time was recorded lost
# its chord and the sweeper (every ZEA_SWEEP_INTERVAL) has not repaired it either.
SESSION_STALL = timedelta(minutes=1)
# How many ids a stuck-row link may carry in its querystring.
LINK_IDS = 100


def changelist(model, **params) -> str:
    """The admin changelist URL of `model`, filtered by `params` (admin querystring lookups)."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def _at(moment: datetime) -> str:
    return moment.isoformat()


def sweep_grace() -> timedelta:
    """How late a due timer or email may be before it is a problem: two missed sweeps."""
    return 2 * settings.ZEA_SWEEP_INTERVAL


@dataclass
class Figure:
    label: str
    value: int | Decimal
    url: str
    note: str = ""


@dataclass
class WorkflowCounts:
    workflow_type: str
    model: type
    total: Figure
    states: list[Figure]


@dataclass
class Stuck:
    """One row that needs a human, and why."""

    kind: str
    workflow_type: str
    execution_id: str
    state: str
    since: datetime | None
    reason: str


@dataclass
class StuckGroup:
    """A kind of stuck row: how many, the admin list of them, and (on demand) the rows."""

    kind: str
    label: str
    url: str
    queryset: QuerySet
    # row -> (workflow type, execution id, since, reason)
    describe: Callable[[object], tuple]

    @cached_property
    def count(self) -> int:
        return self.queryset.count()

    def rows(self, limit: int | None = None) -> list[Stuck]:
        found = list(self.queryset[:limit] if limit else self.queryset)
        described = [self.describe(row) for row in found]
        states = _states_of((t, e) for t, e, _, _ in described)
        return [
            Stuck(self.kind, t or "-", str(e or "-"), states.get((t, e), "-"), since, reason)
            for t, e, since, reason in described
        ]


def _states_of(pairs) -> dict:
    """(workflow type, execution id) -> current state, one query per type."""
    by_type: dict[str, set] = {}
    for workflow_type, execution_id in pairs:
        if workflow_type and execution_id:
            by_type.setdefault(workflow_type, set()).add(execution_id)
    states = {}
    for workflow_type, ids in by_type.items():
        model = workflow_types().get(workflow_type)
        if model is not None:
            rows = model.objects.filter(pk__in=ids).values_list("pk", "state")
            states.update({(workflow_type, pk): state for pk, state in rows})
    return states


# --- Counts per state ---------------------------------------------------------


def workflow_counts(snapshot: dict) -> list[WorkflowCounts]:
    found = []
    for workflow_type, counts in snapshot["workflows"].items():
        model = workflow_model(workflow_type)
        states = [Figure(state, n, changelist(model, state__exact=state)) for state, n in counts.items()]
        found.append(
            WorkflowCounts(workflow_type, model, Figure("total", sum(counts.values()), changelist(model)), states)
        )
    return found


def timer_figures(snapshot: dict, now: datetime) -> list[Figure]:
    pending = {"fired_at__isempty": "1", "cancelled_at__isempty": "1"}
    return [
        Figure("pending", snapshot["timers"]["pending"], changelist(Timer, **pending)),
        Figure("overdue", snapshot["timers"]["overdue"], changelist(Timer, **pending, due_at__lt=_at(now))),
    ]


def outbox_figures(snapshot: dict) -> list[Figure]:
    pending = {"sent_at__isempty": "1", "failed_at__isempty": "1"}
    return [
        Figure("pending", snapshot["outbox"]["pending"], changelist(OutboxMessage, **pending)),
        Figure("retrying", snapshot["outbox"]["retrying"], changelist(OutboxMessage, **pending, attempts__gt="0")),
        Figure("failed", snapshot["outbox"]["failed"], changelist(OutboxMessage, failed_at__isempty="0")),
    ]


# --- Onboarding funnel and payable hours ----------------------------------------


def onboarding_funnel(snapshot: dict) -> list[Figure]:
    """Registered → completed / expired / still waiting, with each share of the registered."""
    from onboarding.models import Onboarding

    counts = snapshot["workflows"].get(Onboarding.workflow_type, {})
    registered = sum(counts.values())

    def share(n):
        return f"{100 * n / registered:.0f}%" if registered else "—"

    State = Onboarding.State
    return [
        Figure("registered", registered, changelist(Onboarding)),
        *(
            Figure(state.label.lower(), counts.get(state, 0), changelist(Onboarding, state__exact=state), share(n))
            for state in (State.COMPLETED, State.EXPIRED, State.AWAITING_PROFILE)
            for n in [counts.get(state, 0)]
        ),
    ]


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """This calendar month in ZEA_TIME_ZONE, as [start, end) instants (local midnights, DST-safe)."""
    tz = ZoneInfo(settings.ZEA_TIME_ZONE)
    local = now.astimezone(tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz)
    following = start.date().replace(day=28) + timedelta(days=4)
    return start, datetime(following.year, following.month, 1, tzinfo=tz)


def payable_hours(now: datetime) -> Figure:
    """Real recorded minutes of this month's sessions (by recorded start), cancelled excluded."""
    from sessions.models import TrainingSession

    start, end = month_bounds(now)
    live = [s for s in TrainingSession.State.values if s != TrainingSession.State.CANCELLED]
    sessions = TrainingSession.objects.filter(actual_start__gte=start, actual_start__lt=end, state__in=live)
    minutes = sessions.aggregate(n=Sum("payable_minutes"))["n"] or 0
    hours = (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    url = changelist(TrainingSession, actual_start__gte=_at(start), actual_start__lt=_at(end), state__in=",".join(live))
    return Figure(f"payable hours in {start:%Y-%m}", hours, url, f"{minutes} min")


# --- Stuck: no progress for longer than expected ----------------------------------


def stuck(now: datetime | None = None) -> list[StuckGroup]:
    """What needs a human, by kind; each kind links to the rows it counts. Rows are
    only read by `StuckGroup.rows()`, so the dashboard costs one COUNT per kind."""
    now = now or timezone.now()
    return [_overdue_timers(now), _stale_outbox(now), _failed_outbox(now), *_payroll(now), *_sessions(now)]


def _overdue_timers(now) -> StuckGroup:
    cutoff = now - sweep_grace()

    def describe(timer):
        return (
            timer.workflow_type,
            timer.execution_id,
            timer.due_at,
            f"timer {timer.name} due {_ago(now, timer.due_at)}",
        )

    return StuckGroup(
        "timer_overdue",
        f"timers overdue by more than {_human(sweep_grace())} (is the sweeper running?)",
        changelist(Timer, fired_at__isempty="1", cancelled_at__isempty="1", due_at__lt=_at(cutoff)),
        Timer.objects.pending().filter(due_at__lt=cutoff).order_by("due_at"),
        describe,
    )


def _stale_outbox(now) -> StuckGroup:
    cutoff = now - sweep_grace()

    def describe(message):
        due = message.next_attempt_at
        return message.workflow_type, message.execution_id, due, f"email {message.template} due {_ago(now, due)}"

    return StuckGroup(
        "outbox_stale",
        f"emails due more than {_human(sweep_grace())} ago and still unsent (are the workers running?)",
        changelist(OutboxMessage, sent_at__isempty="1", failed_at__isempty="1", next_attempt_at__lt=_at(cutoff)),
        OutboxMessage.objects.pending().filter(next_attempt_at__lt=cutoff).order_by("next_attempt_at"),
        describe,
    )


def _failed_outbox(now) -> StuckGroup:
    def describe(message):
        reason = f"email {message.template} #{message.pk} gave up: {message.last_error or '?'}"
        return message.workflow_type, message.execution_id, message.failed_at, reason

    return StuckGroup(
        "outbox_failed",
        "emails that gave up after every retry (fix the cause, then 'Retry delivery now')",
        changelist(OutboxMessage, failed_at__isempty="0"),
        OutboxMessage.objects.filter(failed_at__isnull=False).order_by("failed_at"),
        describe,
    )


def _payroll(now) -> list[StuckGroup]:
    from payroll.models import PayrollReport
    from payroll.services import GENERATING_STALL, PENDING_STALL

    State = PayrollReport.State

    def describe(report):
        reason = f"{report} {report.state} since {_ago(now, report.updated_at)}"
        if report.failure_reason:
            reason += f": {report.failure_reason}"
        return "payroll", report.pk, report.updated_at, reason

    groups = []
    for kind, state, stall, label in [
        ("payroll_pending", State.PENDING, PENDING_STALL, "reports pending for more than {} (no worker on 'reports'?)"),
        ("payroll_generating", State.GENERATING, GENERATING_STALL, "reports generating for more than {}"),
    ]:
        cutoff = now - stall
        groups.append(
            StuckGroup(
                kind,
                label.format(_human(stall)),
                changelist(PayrollReport, state__exact=state, updated_at__lt=_at(cutoff)),
                PayrollReport.objects.filter(state=state, updated_at__lt=cutoff).order_by("month"),
                describe,
            )
        )
    groups.append(
        StuckGroup(
            "payroll_failed",
            "reports that failed (read the reason, then 'Regenerate')",
            changelist(PayrollReport, state__exact=State.FAILED),
            PayrollReport.objects.filter(state=State.FAILED).order_by("month"),
            describe,
        )
    )
    return groups


def _sessions(now) -> list[StuckGroup]:
    from sessions.models import Review, TrainingSession

    State = TrainingSession.State
    cutoff = now - SESSION_STALL

    def not_opened(session):
        at = session.time_recorded_at
        return "session", session.pk, at, f"time recorded {_ago(now, at)}, review branches never opened"

    def not_finalized(session):
        return "session", session.pk, session.updated_at, "both reviews ended, session not completed"

    # Both branches ended but the join did not complete the session.
    open_reviews = Review.objects.filter(session=OuterRef("pk"), state=Review.State.OPEN)
    unjoined = (
        TrainingSession.objects.filter(state=State.IN_REVIEW, updated_at__lt=cutoff)
        .exclude(Exists(open_reviews))
        .order_by("updated_at")
    )
    # Rare enough to link by id; a sentinel keeps the link's list empty when there is none.
    ids = ",".join(str(pk) for pk in unjoined.values_list("pk", flat=True)[:LINK_IDS]) or str(uuid.UUID(int=0))
    return [
        StuckGroup(
            "session_reviews_not_opened",
            f"sessions recorded more than {_human(SESSION_STALL)} ago whose review branches never opened",
            changelist(TrainingSession, state__exact=State.TIME_RECORDED, time_recorded_at__lt=_at(cutoff)),
            TrainingSession.objects.filter(state=State.TIME_RECORDED, time_recorded_at__lt=cutoff).order_by(
                "time_recorded_at"
            ),
            not_opened,
        ),
        StuckGroup(
            "session_not_finalized",
            "sessions in review whose branches have all ended but which were not completed",
            changelist(TrainingSession, execution_id__in=ids),
            unjoined,
            not_finalized,
        ),
    ]


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _ago(now, moment) -> str:
    if now is None or moment is None:
        return "?"
    seconds = int((now - moment).total_seconds())
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}min ago"
    if seconds < 172800:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


# --- Everything at once -----------------------------------------------------------


def build(now: datetime | None = None) -> dict:
    """The dashboard's context: one snapshot, every figure with its link."""
    now = now or timezone.now()
    snap = status.snapshot(now)
    groups = stuck(now)
    return {
        "at": now,
        "workflows": workflow_counts(snap),
        "timers": timer_figures(snap, now),
        "outbox": outbox_figures(snap),
        "funnel": onboarding_funnel(snap),
        "payable": payable_hours(now),
        "stuck": groups,
        "stuck_total": sum(group.count for group in groups),
    }
