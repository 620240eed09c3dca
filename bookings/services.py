"""Slots, credits and bookings: the only code that writes them, each change in one transaction.

Lock order, everywhere: slot, then booking, then credit account. A booking locks its
slot before anything else, a cancellation locks the slot before the booking, and a
grant locks only the account, so two of them can never wait on each other in a cycle.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking, CreditAccount, CreditTransaction, Slot
from onboarding.models import Onboarding
from sessions import services as sessions
from zea import rows as sql_rows
from zea.accounts.models import Athlete, Coach, User
from zea.constraints import constraint_of
from zea.errors import Conflict, Forbidden, Invalid, NotFound, PaymentRequired
from zea.workflows import batch, engine
from zea.workflows.engine import Email

# A slot longer than a session may be recorded (12 h) could never be paid as booked.
MAX_SLOT_LENGTH = timedelta(hours=12)

Kind = CreditTransaction.Kind


# --- Slots -----------------------------------------------------------------


def overlapping_slots(*, coach_id, starts_at: datetime, ends_at: datetime, exclude_id=None):
    found = Slot.objects.filter(coach_id=coach_id, starts_at__lt=ends_at, ends_at__gt=starts_at)
    return found.exclude(pk=exclude_id) if exclude_id else found


def check_slot_times(*, starts_at: datetime, ends_at: datetime, now: datetime | None = None) -> None:
    now = now or timezone.now()
    # In UTC: two times in one zone compare and subtract by the wall clock, an hour off
    # across a clock change.
    starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    if starts_at <= now:
        raise Invalid(
            _("A slot must start in the future."), code="slot_in_past", errors={"starts_at": [_("In the past.")]}
        )
    if ends_at <= starts_at:
        raise Invalid(
            _("A slot must end after it starts."), code="invalid_range", errors={"ends_at": [_("Not after start.")]}
        )
    if ends_at - starts_at > MAX_SLOT_LENGTH:
        raise Invalid(_("A slot lasts at most 12 hours."), code="invalid_range", errors={"ends_at": [_("Too long.")]})


@transaction.atomic
def create_slot(
    *, by: User, coach_id, starts_at: datetime, ends_at: datetime, capacity: int = 1, price_credits: int = 1
) -> Slot:
    """Staff publish for any coach, a coach for itself; 409 `slot_overlap` on the coach's calendar."""
    if not by.is_staff:
        own = getattr(by, "coach", None)
        if own is None or str(own.pk) != str(coach_id):
            raise Forbidden(_("Coaches may only publish their own slots."), code="forbidden")
    if not Coach.objects.filter(pk=coach_id).exists():
        raise NotFound(_("No such coach."), code="coach_not_found")
    check_slot_times(starts_at=starts_at, ends_at=ends_at)
    overlap = Conflict(_("The coach already has a slot overlapping this time."), code="slot_overlap")
    if overlapping_slots(coach_id=coach_id, starts_at=starts_at, ends_at=ends_at).exists():
        raise overlap
    try:
        # A savepoint, so a concurrent overlapping insert (the exclusion constraint) is an answer, not a 500.
        with transaction.atomic():
            return Slot.objects.create(
                coach_id=coach_id, starts_at=starts_at, ends_at=ends_at, capacity=capacity, price_credits=price_credits
            )
    except IntegrityError as exc:
        if constraint_of(exc) == "slot_no_overlap_per_coach":
            raise overlap from None
        raise


# --- Credits ---------------------------------------------------------------


def _locked_account(athlete_id, *, create: bool) -> CreditAccount | None:
    if create:
        # INSERT … ON CONFLICT DO NOTHING: concurrent first grants need no savepoint dance.
        CreditAccount.objects.bulk_create([CreditAccount(athlete_id=athlete_id)], ignore_conflicts=True)
    return CreditAccount.objects.select_for_update().filter(athlete_id=athlete_id).first()


def _post(account: CreditAccount, *, kind: str, amount: int, reason: str, booking=None, by=None) -> CreditTransaction:
    """Move the (locked) balance and append the matching ledger row; the CHECKs refuse a negative balance."""
    account.balance += amount
    account.save(update_fields=["balance", "updated_at"])
    return CreditTransaction.objects.create(
        account=account, kind=kind, amount=amount, reason=reason, booking=booking, created_by=by
    )


@transaction.atomic
def grant_credits(*, athlete_id, amount: int, reason: str, by: User | None) -> CreditAccount:
    if amount <= 0:
        raise Invalid(
            _("Grant a positive number of credits."), code="invalid_amount", errors={"amount": [_("Must be > 0.")]}
        )
    if not Athlete.objects.filter(pk=athlete_id).exists():
        raise NotFound(_("No such athlete."), code="athlete_not_found")
    account = _locked_account(athlete_id, create=True)
    _post(account, kind=Kind.GRANT, amount=amount, reason=reason, by=by)
    return account


def balance_of(athlete: Athlete) -> int:
    return CreditAccount.objects.filter(athlete=athlete).values_list("balance", flat=True).first() or 0


# --- Bookings --------------------------------------------------------------


@dataclass
class Booked:
    booking: Booking
    session_id: object
    credits_remaining: int


@dataclass
class Cancelled:
    booking: Booking
    refunded: int
    credits_remaining: int


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def _emails(template: str, booking: Booking, slot: Slot, athlete: Athlete, **context) -> list[Email]:
    """One email to the athlete and one to the coach, delivered together after commit."""
    coach_user, athlete_user = slot.coach.user, athlete.user
    common = {
        "booking_id": str(booking.pk),
        "starts_at": _when(slot.starts_at),
        "ends_at": _when(slot.ends_at),
        "coach_name": slot.coach.name,
        "athlete_name": str(athlete),
        **context,
    }
    return [
        Email(
            template=f"bookings/email/{template}_athlete",
            to=[athlete_user.email],
            context={"first_name": athlete_user.first_name, **common},
            language=athlete_user.language,
        ),
        Email(
            template=f"bookings/email/{template}_coach",
            to=[coach_user.email],
            context={"first_name": coach_user.first_name, **common},
            language=coach_user.language,
        ),
    ]


@transaction.atomic
def book_slot(*, user: User, slot_id) -> Booked:
    """Validate, reserve the slot, debit the credits, confirm, schedule the session and
    write the notifications, all or nothing. Locks: the slot, then the credit account.

    Booking is the busiest write of the platform, so its round trips are counted (the
    tests pin them): the athlete comes with the permission check, the duplicate check
    with the slot lock, and every write after the lock is one statement (`batch`).
    """
    athlete = getattr(user, "athlete", None)
    if athlete is None:
        raise Forbidden(_("Only athletes can book."), code="forbidden")
    slot, already_booked, onboarding_state = _lock_slot(slot_id, athlete)
    if slot is None:
        onboarding_state = Onboarding.objects.filter(athlete=athlete).values_list("state", flat=True).first()
    if onboarding_state != Onboarding.State.COMPLETED:
        raise Forbidden(_("Complete your profile before booking."), code="onboarding_incomplete")
    if slot is None:
        raise NotFound(_("No such slot."), code="slot_not_found")
    if slot.starts_at <= timezone.now():
        raise Invalid(_("The slot has already started."), code="slot_started")
    holds_one = Conflict(_("You already hold a booking on this slot."), code="already_booked")
    # Under the slot lock nobody else can book or cancel on it, so these reads are stable
    # (a same-athlete booking that committed while we waited for the lock is caught by
    # the unique index below).
    if already_booked:
        raise holds_one
    if slot.booked_count >= slot.capacity:
        raise Conflict(_("The slot is full."), code="slot_full")
    price = slot.price_credits
    booking_id = uuid.uuid4()
    actor = engine.actor_of(user)
    try:
        # Everything below is one statement: the slot stays locked for two round trips.
        with batch.together() as writes:
            balance_left = _take_place(writes, slot=slot, athlete=athlete, price=price, booking_id=booking_id, by=user)
            booking = engine.start(
                Booking,
                actor=actor,
                data={"slot": str(slot.pk)},
                execution_id=booking_id,
                slot=slot,
                athlete=athlete,
                credits_debited=price,
            )
            session = sessions.schedule_for_booking(booking=booking, actor=actor)
            engine.notify(booking, *_emails("confirmed", booking, slot, athlete, session_id=str(session.pk)))
            (balance,) = writes.run(*balance_left)
    except IntegrityError as exc:
        if constraint_of(exc) == "booking_one_active_per_athlete_slot":
            raise holds_one from None
        raise
    if balance is None:
        # Raising rolls back what the statement wrote: the place and the debit were never
        # taken, and the booking, its session and emails go with this transaction.
        balance = balance_of(athlete)
        raise PaymentRequired(
            _("The slot costs %(price)s credit(s); your balance is %(balance)s.")
            % {"price": price, "balance": balance},
            code="insufficient_credits",
            balance=balance,
            price=price,
        )
    return Booked(booking=booking, session_id=session.pk, credits_remaining=balance)


def _lock_slot(slot_id, athlete: Athlete) -> tuple[Slot | None, bool, str | None]:
    """Lock the slot and read, in the same round trip, its coach and the coach's user (for
    the emails), whether the athlete already holds a booking on it, and the athlete's
    onboarding state. (None, False, None) when there is no such slot."""
    with connection.cursor() as cursor:
        cursor.execute(
            _slot_lock_query(),
            {
                "slot": Slot._meta.pk.get_db_prep_value(slot_id, cursor.db),
                "athlete": athlete.pk,
                "confirmed": Booking.State.CONFIRMED,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None, False, None
    (slot, coach, coach_user), (already_booked, onboarding_state) = sql_rows.split(row, (Slot, Coach, User))
    coach._state.fields_cache["user"] = coach_user
    slot._state.fields_cache["coach"] = coach
    return slot, already_booked, onboarding_state


@cache
def _slot_lock_query() -> str:
    table = {
        model: connection.ops.quote_name(model._meta.db_table) for model in (Slot, Coach, User, Booking, Onboarding)
    }
    columns = ", ".join(sql_rows.columns(model, alias) for model, alias in ((Slot, "s"), (Coach, "c"), (User, "u")))
    return f"""
        SELECT {columns},
               EXISTS (SELECT 1 FROM {table[Booking]} b WHERE b.slot_id = s.id AND b.athlete_id = %(athlete)s
                                                         AND b.state = %(confirmed)s),
               (SELECT o.state FROM {table[Onboarding]} o WHERE o.athlete_id = %(athlete)s)
          FROM {table[Slot]} s JOIN {table[Coach]} c ON c.id = s.coach_id JOIN {table[User]} u ON u.id = c.user_id
         WHERE s.id = %(slot)s
           FOR UPDATE OF s
    """


def _take_place(writes, *, slot: Slot, athlete: Athlete, price: int, booking_id, by: User) -> tuple[str, list]:
    """Add to `writes` the place on the (locked) slot and the debit of `price` with its
    ledger row; return the SQL (and its parameters) of the balance left, NULL when the
    balance did not cover the price (then neither the debit nor the place was written)."""
    if not price:
        writes.add(_sql("free place"), [slot.pk])
        return _sql("balance"), [athlete.pk]
    now = timezone.now()
    writes.add(_sql("debit"), [price, now, athlete.pk, price], name="debited")
    writes.add(_sql("ledger"), [Kind.DEBIT, -price, booking_id, now, by.pk])
    writes.add(_sql("place"), [slot.pk])
    return "(SELECT balance FROM debited)", []


@cache
def _sql(which: str) -> str:
    slots, accounts, ledger = (
        connection.ops.quote_name(model._meta.db_table) for model in (Slot, CreditAccount, CreditTransaction)
    )
    return {
        "debit": f"""UPDATE {accounts} SET balance = balance - %s, updated_at = %s
                      WHERE athlete_id = %s AND balance >= %s RETURNING id, balance""",
        "ledger": f"""INSERT INTO {ledger} (account_id, kind, amount, reason, booking_id, created_at, created_by_id)
                      SELECT id, %s, %s, 'booking', %s, %s, %s FROM debited""",
        # The place is taken only with its debit (a free slot debits nothing).
        "place": f"UPDATE {slots} SET booked_count = booked_count + 1 WHERE id = %s AND EXISTS (SELECT FROM debited)",
        "free place": f"UPDATE {slots} SET booked_count = booked_count + 1 WHERE id = %s",
        "balance": f"(SELECT coalesce(max(balance), 0) FROM {accounts} WHERE athlete_id = %s)",
    }[which]


def visible_bookings(user: User):
    """Staff see every booking; athletes their own; coaches those on their slots."""
    bookings = Booking.objects.select_related("slot", "session")
    if user.is_staff:
        return bookings
    athlete = getattr(user, "athlete", None)
    coach = getattr(user, "coach", None)
    if athlete is not None:
        return bookings.filter(athlete=athlete)
    if coach is not None:
        return bookings.filter(slot__coach=coach)
    return bookings.none()


def get_booking(*, user: User, booking_id) -> Booking:
    booking = visible_bookings(user).filter(pk=booking_id).first()
    if booking is None:
        raise NotFound(_("No such booking."), code="booking_not_found")
    return booking


def cancel_booking(*, user: User, booking_id) -> Cancelled:
    """Its athlete or staff cancel; others get 404 (or 403 for the slot's coach)."""
    booking = get_booking(user=user, booking_id=booking_id)
    if not (user.is_staff or booking.athlete.user_id == user.pk):
        raise Forbidden(_("Only the athlete or staff may cancel a booking."), code="forbidden")
    return _cancel(booking, actor=engine.actor_of(user))


def admin_cancel(booking: Booking, *, actor: str) -> Booking:
    """The admin's cancel button: the same path as the API."""
    return _cancel(booking, actor=actor).booking


@transaction.atomic
def _cancel(booking: Booking, *, actor: str, now: datetime | None = None) -> Cancelled:
    """Refund if at least ZEA_CANCELLATION_WINDOW before the start, free the place, cancel
    the session, audit and notify. Locks: the slot, the booking (engine), the account."""
    now = now or timezone.now()
    slot = Slot.objects.select_for_update(of=("self",)).select_related("coach__user").get(pk=booking.slot_id)
    not_cancellable = Conflict(_("This booking can no longer be cancelled."), code="not_cancellable")
    if slot.starts_at <= now:
        raise not_cancellable
    refund = booking.credits_debited if slot.starts_at - now >= settings.ZEA_CANCELLATION_WINDOW else 0
    booking = engine.transition(
        booking,
        "cancel",
        actor=actor,
        data={"refunded": refund},
        args={"refunded": refund},
        refused_code=not_cancellable.code,
        refused_detail=not_cancellable.detail,
    )
    Slot.objects.filter(pk=slot.pk).update(booked_count=F("booked_count") - 1)
    athlete = Athlete.objects.select_related("user").get(pk=booking.athlete_id)
    if refund:
        # A refund implies a debit, so the account exists.
        account = _locked_account(athlete.pk, create=False)
        _post(account, kind=Kind.REFUND, amount=refund, reason="cancellation", booking=booking)
        remaining = account.balance
    else:
        remaining = balance_of(athlete)
    sessions.cancel_for_booking(booking=booking, actor=actor)
    engine.notify(booking, *_emails("cancelled", booking, slot, athlete, refunded=refund))
    return Cancelled(booking=booking, refunded=refund, credits_remaining=remaining)
