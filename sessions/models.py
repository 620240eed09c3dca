"""The training-session workflow: scheduled → real time recorded → athlete feedback and
coach evaluation in parallel, each with its own deadline → completed exactly once."""

from django.db import models
from django_fsm import FSMField, transition

from zea.accounts.models import Athlete, Coach
from zea.workflows.models import Workflow


class TrainingSession(Workflow):
    """Created `scheduled` by a confirmed booking, in the booking's transaction."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled"
        TIME_RECORDED = "time_recorded"
        IN_REVIEW = "in_review"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    workflow_type = "session"
    initial_state = State.SCHEDULED
    final_states = frozenset({State.COMPLETED, State.CANCELLED})
    stall_repair = "sessions.services.repair_stalled"

    state = FSMField(max_length=32, protected=True, db_index=True, choices=State.choices, default=State.SCHEDULED)
    booking = models.OneToOneField("bookings.Booking", on_delete=models.PROTECT, related_name="session")
    coach = models.ForeignKey(Coach, on_delete=models.PROTECT, related_name="sessions")
    athlete = models.ForeignKey(Athlete, on_delete=models.PROTECT, related_name="sessions")
    scheduled_start = models.DateTimeField()
    scheduled_end = models.DateTimeField()
    # The real time, as recorded by the coach: what payroll pays.
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)
    payable_minutes = models.PositiveIntegerField(null=True, blank=True)
    time_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-scheduled_start"]
        indexes = [
            models.Index(fields=["coach", "scheduled_start"], name="session_coach_start"),
            models.Index(fields=["athlete", "scheduled_start"], name="session_athlete_start"),
            models.Index(fields=["actual_start"], name="session_actual_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(actual_end__isnull=True) | models.Q(actual_end__gt=models.F("actual_start")),
                name="session_actual_range_valid",
            ),
        ]

    def __str__(self):
        return f"session {self.pk}"

    def is_party(self, user) -> bool:
        if not user.is_authenticated:
            return False
        return user.pk in (self.athlete.user_id, self.coach.user_id)

    # Only the booking's cancellation cancels a session, so the admin offers no button here.
    @transition(field=state, source=State.SCHEDULED, target=State.CANCELLED, custom={"admin": False})
    def cancel(self):
        """Its booking was cancelled."""

    @transition(field=state, source=State.SCHEDULED, target=State.TIME_RECORDED, custom={"admin": False})
    def record_time(self, *, started_at, ended_at, payable_minutes, recorded_at):
        """The coach recorded the real start and end: payable at once."""
        self.actual_start, self.actual_end = started_at, ended_at
        self.payable_minutes, self.time_recorded_at = payable_minutes, recorded_at

    @transition(field=state, source=State.TIME_RECORDED, target=State.IN_REVIEW, custom={"admin": False})
    def open_reviews(self):
        """Both branches (feedback, evaluation) are open."""

    @transition(
        field=state, source=[State.TIME_RECORDED, State.IN_REVIEW], target=State.COMPLETED, custom={"admin": False}
    )
    def complete(self):
        """Both branches ended (submitted or expired)."""


class Review(Workflow):
    """One parallel branch of a session: the athlete's feedback or the coach's evaluation.

    The free text lives here, never in audit events (personal data).
    """

    class Kind(models.TextChoices):
        FEEDBACK = "feedback"
        EVALUATION = "evaluation"

    class State(models.TextChoices):
        OPEN = "open"
        SUBMITTED = "submitted"
        EXPIRED = "expired"

    workflow_type = "review"
    initial_state = State.OPEN
    final_states = frozenset({State.SUBMITTED, State.EXPIRED})
    timer_handlers = {"deadline": "sessions.services.on_review_deadline"}

    state = FSMField(max_length=32, protected=True, db_index=True, choices=State.choices, default=State.OPEN)
    session = models.ForeignKey(TrainingSession, on_delete=models.PROTECT, related_name="reviews")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    deadline = models.DateTimeField()
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True, help_text="The athlete's comment or the coach's notes.")
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["session", "kind"], name="review_one_per_kind"),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="review_rating_1_to_5",
            ),
        ]

    def __str__(self):
        return f"{self.kind} of {self.session_id}"

    @property
    def is_ended(self) -> bool:
        return self.state in self.final_states

    def is_party(self, user) -> bool:
        return self.session.is_party(user)

    @transition(field=state, source=State.OPEN, target=State.SUBMITTED, custom={"admin": False})
    def submit(self, *, rating: int, text: str, submitted_at):
        self.rating, self.text, self.submitted_at = rating, text, submitted_at

    @transition(field=state, source=State.OPEN, target=State.EXPIRED, custom={"admin": False})
    def expire(self):
        """Its deadline passed unanswered."""
