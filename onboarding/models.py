"""Athlete onboarding: register, then up to ZEA_ONBOARDING_TIMEOUT to complete the profile."""

from django.db import models
from django_fsm import FSMField, transition

from zea.accounts.models import Athlete
from zea.workflows.models import Workflow


class Onboarding(Workflow):
    class State(models.TextChoices):
        AWAITING_PROFILE = "awaiting_profile"
        COMPLETED = "completed"
        EXPIRED = "expired"

    workflow_type = "onboarding"
    initial_state = State.AWAITING_PROFILE
    # No timer outlives these states (reopening an expired one schedules new ones).
    final_states = frozenset({State.COMPLETED, State.EXPIRED})
    timer_handlers = {
        "deadline": "onboarding.services.on_deadline",
        "reminder": "onboarding.services.on_reminder",
    }
    bulk_timer_handlers = {"deadline": "onboarding.services.on_deadlines"}
    # The expiry email's address, name and language; the user to deactivate.
    bulk_lock_values = {
        "user_id": "athlete__user_id",
        "email": "athlete__user__email",
        "first_name": "athlete__user__first_name",
        "language": "athlete__user__language",
    }
    admin_transitions = {"reopen": "onboarding.services.reopen"}

    state = FSMField(
        max_length=32, protected=True, db_index=True, choices=State.choices, default=State.AWAITING_PROFILE
    )
    athlete = models.OneToOneField(Athlete, on_delete=models.PROTECT, related_name="onboarding")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"onboarding of {self.athlete}"

    def is_party(self, user) -> bool:
        return user.is_authenticated and self.athlete.user_id == user.pk

    @transition(field=state, source=State.AWAITING_PROFILE, target=State.COMPLETED, custom={"admin": False})
    def complete_profile(self):
        """The athlete filled in every required field."""

    @transition(field=state, source=State.AWAITING_PROFILE, target=State.EXPIRED, custom={"admin": False})
    def expire(self):
        """The deadline passed with the profile still incomplete."""

    @transition(
        field=state,
        source=State.EXPIRED,
        target=State.AWAITING_PROFILE,
        custom={"admin": True, "label": "Reopen (new deadline, account active)"},
    )
    def reopen(self):
        """Staff give an expired athlete a new deadline."""
