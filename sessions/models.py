"""The training-session workflow (workflow 3); for now only its booking seam: scheduled or cancelled."""

from django.db import models
from django_fsm import FSMField, transition

from zea.accounts.models import Athlete, Coach
from zea.workflows.models import Workflow


class TrainingSession(Workflow):
    """Created `scheduled` by a confirmed booking, in the booking's transaction."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled"
        CANCELLED = "cancelled"

    workflow_type = "session"
    initial_state = State.SCHEDULED
    final_states = frozenset({State.CANCELLED})

    state = FSMField(max_length=32, protected=True, db_index=True, choices=State.choices, default=State.SCHEDULED)
    booking = models.OneToOneField("bookings.Booking", on_delete=models.PROTECT, related_name="session")
    coach = models.ForeignKey(Coach, on_delete=models.PROTECT, related_name="sessions")
    athlete = models.ForeignKey(Athlete, on_delete=models.PROTECT, related_name="sessions")
    scheduled_start = models.DateTimeField()
    scheduled_end = models.DateTimeField()

    class Meta:
        ordering = ["-scheduled_start"]
        indexes = [
            models.Index(fields=["coach", "scheduled_start"], name="session_coach_start"),
            models.Index(fields=["athlete", "scheduled_start"], name="session_athlete_start"),
        ]

    def __str__(self):
        return f"session {self.pk}"

    def is_party(self, user) -> bool:
        if not user.is_authenticated:
            return False
        return user.pk in (self.athlete.user_id, self.coach.user_id)

    # Only the booking's cancellation cancels a session, so the admin offers no button here.
    # `field=state` (the object): see bookings.models.Booking.cancel.
    @transition(field=state, source=State.SCHEDULED, target=State.CANCELLED, custom={"admin": False})
    def cancel(self):
        """Its booking was cancelled."""
