"""Demo data for `make run`: idempotent, so running it again changes nothing."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from onboarding import services as onboarding_services
from zea.accounts.models import Coach, User
from zea.accounts.services import create_coach
from zea.workflows import timers
from zea.workflows.models import Timer

ADMIN = ("admin", "admin-pass-123")
COACHES = [
    ("coach@zea.example", "Carla", "Ruiz", Decimal("40.00")),
    ("coach2@zea.example", "Marco", "Pérez", Decimal("35.50")),
]
ATHLETES = [
    # email, first, last, the onboarding state to leave it in
    ("athlete@zea.example", "Ana", "García", "completed"),
    ("runner@zea.example", "Sofía", "Navarro", "completed"),
    ("newbie@zea.example", "Luis", "Martín", "awaiting_profile"),
    ("lapsed@zea.example", "Jorge", "Vidal", "expired"),
]
PASSWORD = "demo-pass-123"
PROFILE = {
    "date_of_birth": "1996-04-12",
    "phone": "+34 600 123 456",
    "sport": "running",
    "emergency_contact_name": "María García",
    "emergency_contact_phone": "+34 600 654 321",
}


@transaction.atomic
def load() -> list[str]:
    """Create the demo users and workflows that do not exist yet; return the logins."""
    if not User.objects.filter(username=ADMIN[0]).exists():
        User.objects.create_superuser(ADMIN[0], "admin@zea.example", ADMIN[1])
    for email, first, last, rate in COACHES:
        if not User.objects.filter(email__iexact=email).exists():
            create_coach(email=email, password=PASSWORD, first_name=first, last_name=last, hourly_rate=rate)
    for email, first, last, state in ATHLETES:
        if User.objects.filter(email__iexact=email).exists():
            continue
        onboarding, _ = onboarding_services.register(email=email, password=PASSWORD, first_name=first, last_name=last)
        if state == "completed":
            onboarding_services.update_profile(user=onboarding.athlete.user, **PROFILE)
        elif state == "expired":
            _expire(onboarding)
    extend = _extensions()
    for hook in extend:
        hook(coaches=list(Coach.objects.all()), athletes=list(User.objects.filter(athlete__isnull=False)))
    return [
        f"staff (admin):  {ADMIN[0]} / {ADMIN[1]}",
        *(f"coach:          {email} / {PASSWORD}" for email, *_ in COACHES),
        *(f"athlete:        {email} / {PASSWORD}  ({state})" for email, _, _, state in ATHLETES),
    ]


def _expire(onboarding) -> None:
    """The demo cannot wait ZEA_ONBOARDING_TIMEOUT: bring the deadline timer forward to now
    and fire it through the normal timer path (expiry, deactivation, email, audit)."""
    deadline = Timer.objects.pending().get(execution_id=onboarding.pk, name="deadline")
    Timer.objects.filter(pk=deadline.pk).update(due_at=timezone.now())
    timers.fire(deadline.pk)


def _extensions():
    """Workflow apps may add demo data of their own with a `demo.load` function."""
    from importlib import import_module

    hooks = []
    for app in ("bookings", "sessions", "payroll"):
        try:
            module = import_module(f"{app}.demo")
        except ModuleNotFoundError:
            continue
        hooks.append(module.load)
    return hooks
