"""The monthly payroll report: real recorded minutes per coach and ISO week."""

from django.db import models
from django_fsm import FSMField, transition

from zea.workflows.models import Workflow


class PayrollReport(Workflow):
    class State(models.TextChoices):
        PENDING = "pending"
        GENERATING = "generating"
        READY = "ready"
        FAILED = "failed"

    workflow_type = "payroll"
    initial_state = State.PENDING
    final_states = frozenset({State.READY})
    admin_transitions = {"regenerate": "payroll.services.regenerate_from_admin"}
    stall_repair = "payroll.services.repair_stalled"

    state = FSMField(max_length=32, protected=True, db_index=True, choices=State.choices, default=State.PENDING)
    month = models.DateField(unique=True, help_text="First day of the month reported.")
    time_zone = models.CharField(max_length=64, help_text="ZEA_TIME_ZONE when generated.")
    totals = models.JSONField(default=list, blank=True)
    rates = models.JSONField(default=dict, blank=True, help_text="coach id -> hourly rate used (frozen).")
    csv = models.TextField(blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveIntegerField(default=0, help_text="How many times the figures were computed.")
    # When the sweeper last re-sent a stalled report's message; kept apart from
    # `updated_at`, which says since when the report is in its state.
    redriven_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-month"]

    def __str__(self):
        return f"payroll {self.month:%Y-%m}"

    @property
    def month_label(self) -> str:
        return f"{self.month:%Y-%m}"

    @transition(field=state, source=[State.PENDING, State.FAILED], target=State.GENERATING, custom={"admin": False})
    def generate(self):
        """A worker started computing the figures."""

    @transition(field=state, source=State.GENERATING, target=State.READY, custom={"admin": False})
    def complete(self, *, totals: list, rates: dict, csv: str, generated_at):
        """Figures and CSV stored."""
        self.totals, self.rates, self.csv, self.generated_at = totals, rates, csv, generated_at
        self.failure_reason = ""
        self.generation += 1

    @transition(field=state, source=State.GENERATING, target=State.FAILED, custom={"admin": False})
    def fail(self, *, reason: str):
        """Computing the figures failed; the reason is kept and the work retried."""
        self.failure_reason = reason[:500]

    @transition(
        field=state,
        source=[State.READY, State.FAILED],
        target=State.PENDING,
        custom={"admin": True, "label": "Regenerate (recompute with current data and rates)"},
    )
    def regenerate(self, *, time_zone: str):
        """Staff (or the beat) asked for the figures again, with today's data, rates and time zone."""
        self.time_zone = time_zone
