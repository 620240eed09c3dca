"""The engine's tables: the Workflow base, the audit trail, timers and the outbox."""

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django_fsm import FSMModelMixin


class Workflow(FSMModelMixin, models.Model):
    """One execution of a workflow: its row is the truth, its `state` an FSM field.

    Subclasses declare `state` (a protected FSMField), set `workflow_type`,
    `initial_state`, `final_states`, `definition_version`, `timer_handlers`, and declare
    `@transition(field=state, ...)` methods that only change fields. Move them through
    `zea.workflows.engine` only.
    """

    workflow_type: str = ""
    initial_state: str = ""
    final_states: frozenset[str] = frozenset()
    definition_version: int = 1
    # timer name (before any ":") -> dotted path of `handler(workflow, timer) -> outcome`
    timer_handlers: dict[str, str] = {}
    # timer name -> dotted path of `handler(workflows_by_id, timers) -> {timer_id: outcome}`
    # that fires a whole batch at once (optional; the sweeper falls back to one by one);
    # `timers` are rows with `pk`, `workflow_type`, `name`, `execution_id` and `due_at`
    bulk_timer_handlers: dict[str, str] = {}
    # the rows a bulk handler gets carry their primary key, state and chain head only
    # (`engine.BULK_FIELDS`); whatever else it reads goes here, as attribute name ->
    # lookup path, read in the same query onto the row (no related instances to build
    # for a whole backlog, no query per row for a deferred field)
    bulk_lock_values: dict[str, str] = {}
    # transition name -> dotted path of `service(workflow, *, actor)` for the admin's buttons
    admin_transitions: dict[str, str] = {}
    # dotted path of `repair(*, now) -> int`, run by every sweep to re-drive stalled executions
    stall_repair: str = ""

    execution_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Each subclass declares its own `state = FSMField(protected=True, choices=…)`: an FSM
    # field on this abstract base would claim the subclasses' transitions as its own
    # (django-fsm registers them per field at class_prepared) and hide them from the admin.
    version = models.PositiveSmallIntegerField(default=1, help_text="Workflow definition version.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The head of the audit chain, kept on the (locked) row so appending an event needs
    # no extra read; `zea verify` checks it against the events.
    audit_seq = models.PositiveIntegerField(default=0, editable=False)
    audit_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def is_final(self) -> bool:
        return self.state in self.final_states

    def is_party(self, user) -> bool:
        """Whether `user` takes part in this execution (and may see its timeline)."""
        return False


class AuditEvent(models.Model):
    """Append-only (a PostgreSQL trigger refuses UPDATE and DELETE); IDs and states only."""

    workflow_type = models.CharField(max_length=32)
    execution_id = models.UUIDField()
    seq = models.PositiveIntegerField()
    transition = models.CharField(max_length=64)
    source = models.CharField(max_length=32, blank=True)
    target = models.CharField(max_length=32)
    actor = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["execution_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["execution_id", "seq"], name="audit_event_seq_unique"),
        ]
        indexes = [models.Index(fields=["workflow_type", "at"], name="audit_event_type_at")]

    def __str__(self):
        return f"{self.workflow_type} {self.execution_id} #{self.seq} {self.transition}"


# The condition of TimerQuerySet.pending() in SQL, for hand-written lookups by execution.
# Written so that no partial index on pending timers qualifies: on a table whose
# statistics lag behind its growth (a new deployment, a burst of sign-ups, an outage's
# backlog), PostgreSQL would otherwise walk the whole due-date index filtering on
# execution_id, at a cost that grows with every pending timer. Worse, in a prepared
# statement's generic plan an array of ids is a parameter it cannot hash, so each of
# those timers is compared with every id: cancelling a thousand executions' timers
# among 100,000 pending took 0.3 s, among a million 3.3 s. The plain index on
# execution_id finds the executions' few timers, whatever the statistics and the plan
# (tests/perf checks the plans).
PENDING_TIMER_OF_EXECUTION = "coalesce(fired_at, cancelled_at) IS NULL"


class TimerQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(fired_at__isnull=True, cancelled_at__isnull=True)

    def pending_of_executions(self):
        """pending(), written as PENDING_TIMER_OF_EXECUTION: for lookups by execution, so
        the execution_id index serves them and not the due-date index of every pending
        timer."""
        return self.alias(settled_at=Coalesce("fired_at", "cancelled_at")).filter(settled_at__isnull=True)


class Timer(models.Model):
    """A deadline as a row: fired at most once in effect, whatever happens to Redis."""

    workflow_type = models.CharField(max_length=32)
    execution_id = models.UUIDField(db_index=True)
    name = models.CharField(max_length=64)
    due_at = models.DateTimeField()
    is_deadline = models.BooleanField(default=False, help_text="The workflow's deadline (vs a reminder).")
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=64, blank=True)

    objects = TimerQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["execution_id", "name"],
                condition=Q(fired_at__isnull=True, cancelled_at__isnull=True),
                name="timer_one_pending_per_name",
            ),
            # A timer settles once: it fires or it is cancelled, and the admin and the
            # audit read which from these two columns.
            models.CheckConstraint(
                condition=Q(fired_at__isnull=True) | Q(cancelled_at__isnull=True), name="timer_fired_or_cancelled"
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at", "id"],
                condition=Q(fired_at__isnull=True, cancelled_at__isnull=True),
                name="timer_pending_due",
            ),
        ]

    def __str__(self):
        return f"{self.workflow_type}:{self.name} due {self.due_at:%Y-%m-%d %H:%M:%S}"

    @property
    def is_pending(self) -> bool:
        return self.fired_at is None and self.cancelled_at is None


# The condition of OutboxQuerySet.pending() in SQL (and of the partial index on pending emails).
PENDING_OUTBOX = "sent_at IS NULL AND failed_at IS NULL"
# The same for lookups by id, in the form no partial index matches, for the reason given
# at PENDING_TIMER_OF_EXECUTION: the primary key finds the rows, not a walk through
# every pending email.
PENDING_OUTBOX_BY_ID = "coalesce(sent_at, failed_at) IS NULL"


class OutboxQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(sent_at__isnull=True, failed_at__isnull=True)


class OutboxMessage(models.Model):
    """An email to send, written in the transaction that decided it; rendered at send time."""

    template = models.CharField(max_length=100, help_text="e.g. onboarding/email/welcome")
    to = models.JSONField(help_text="Recipient addresses.")
    context = models.JSONField(default=dict, blank=True)
    attachments = models.JSONField(default=list, blank=True, help_text="[{filename, mimetype, source}]")
    language = models.CharField(max_length=8, blank=True)
    workflow_type = models.CharField(max_length=32, blank=True)
    execution_id = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(sent_at__isnull=True, failed_at__isnull=True),
                name="outbox_pending_next",
            ),
        ]

    def __str__(self):
        return f"{self.template} #{self.pk}"

    @property
    def status(self) -> str:
        if self.sent_at:
            return "sent"
        return "failed" if self.failed_at else "pending"
