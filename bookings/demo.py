"""Demo data for bookings (called by zea/demo.py): slots over the next two weeks, credits,
bookings, some cancelled. Idempotent: slots are keyed by coach and start, and an athlete
who already holds bookings gets no more."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from bookings import services
from bookings.models import Booking, CreditTransaction, Slot
from onboarding.models import Onboarding
from zea.accounts.models import User

DAYS = 14
# Local start times of each coach's slots (an hour each), staggered so coaches differ.
HOURS = {0: [time(9), time(18)], 1: [time(10), time(19)]}
CREDITS = {"athlete@zea.example": 12, "runner@zea.example": 6}
# How many slots each athlete books, and how many of those bookings get cancelled again.
BOOK = {"athlete@zea.example": (8, 2), "runner@zea.example": (4, 1)}
GRANT_REASON = "demo: welcome credits"


def load(*, coaches, athletes) -> None:
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    _slots(coaches)
    ready = {
        user.email: user
        for user in athletes
        if Onboarding.objects.filter(athlete__user=user, state=Onboarding.State.COMPLETED).exists()
    }
    for email, amount in CREDITS.items():
        user = ready.get(email)
        granted = CreditTransaction.objects.filter(account__athlete__user=user, reason=GRANT_REASON)
        if user is not None and not granted.exists():
            services.grant_credits(athlete_id=user.athlete.pk, amount=amount, reason=GRANT_REASON, by=admin)
    for email, (count, cancel) in BOOK.items():
        user = ready.get(email)
        if user is not None and not Booking.objects.filter(athlete__user=user).exists():
            _book(user, count, cancel)


def _slots(coaches) -> None:
    tz = ZoneInfo(settings.ZEA_TIME_ZONE)
    today = timezone.localtime(timezone.now(), tz).date()
    for index, coach in enumerate(sorted(coaches, key=lambda c: c.user.email)):
        for day in range(1, DAYS + 1):
            for at in HOURS[index % 2]:
                starts_at = datetime.combine(today + timedelta(days=day), at, tzinfo=tz)
                ends_at = starts_at + timedelta(hours=1)
                if services.overlapping_slots(coach_id=coach.pk, starts_at=starts_at, ends_at=ends_at).exists():
                    continue
                services.create_slot(by=coach.user, coach_id=coach.pk, starts_at=starts_at, ends_at=ends_at)


def _book(user, count: int, cancel: int) -> None:
    """Book free slots alternating coaches (earliest first); cancel the last `cancel` again."""
    free = list(Slot.objects.filter(starts_at__gt=timezone.now(), booked_count=0).order_by("starts_at", "coach_id"))
    # Every other free slot, so two athletes' bookings interleave instead of colliding.
    picked = free[::2][:count] if user.email.startswith("athlete") else free[1::2][:count]
    booked = [services.book_slot(user=user, slot_id=slot.pk) for slot in picked]
    for item in booked[len(booked) - cancel :]:
        services.cancel_booking(user=user, booking_id=item.booking.pk)
