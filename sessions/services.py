"""Training-session use cases: the only code that starts or moves a TrainingSession."""

from django.db import transaction

from sessions.models import TrainingSession
from zea.workflows import engine


@transaction.atomic
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


@transaction.atomic
def cancel_for_booking(*, booking, actor: str) -> TrainingSession | None:
    """Cancel the session of a cancelled booking; a no-op when it is already cancelled."""
    session = TrainingSession.objects.filter(booking=booking).first()
    if session is None or session.state == TrainingSession.State.CANCELLED:
        return session
    return engine.transition(
        session,
        "cancel",
        actor=actor,
        data={"booking": str(booking.pk)},
        refused_code="session_not_cancellable",
    )
