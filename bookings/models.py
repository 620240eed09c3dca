"""Slots, credits and the booking workflow; every invariant has a database constraint behind it."""

import uuid
from collections.abc import Iterator

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django_fsm import FSMField, transition

from zea.accounts.models import Athlete, Coach
from zea.workflows.models import Workflow


class TsTzRange(models.Func):
    """`tstzrange(start, end)`, half-open `[)`: back-to-back slots touch but do not overlap."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Slot(models.Model):
    """A coach's time offered for booking; `booked_count` moves only under the row lock."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    coach = models.ForeignKey(Coach, on_delete=models.PROTECT, related_name="slots")
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField(default=1)
    price_credits = models.PositiveIntegerField(default=1)
    booked_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="slot_capacity_positive"),
            models.CheckConstraint(
                condition=Q(booked_count__gte=0, booked_count__lte=F("capacity")), name="slot_booked_within_capacity"
            ),
            # Needs btree_gist (migration 0001) for the `=` on coach inside a GiST index.
            ExclusionConstraint(
                name="slot_no_overlap_per_coach",
                expressions=[
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                    ("coach", RangeOperators.EQUAL),
                ],
            ),
        ]

    def __str__(self):
        return f"{self.coach} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def spots_left(self) -> int:
        return max(self.capacity - self.booked_count, 0)


class CreditAccount(models.Model):
    """An athlete's balance; it only changes together with a ledger row, under its row lock."""

    athlete = models.OneToOneField(Athlete, on_delete=models.PROTECT, related_name="credit_account")
    balance = models.IntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_non_negative")]

    def __str__(self):
        return f"credits of {self.athlete}"


class CreditTransaction(models.Model):
    """The append-only ledger (PostgreSQL refuses UPDATE and DELETE): its sum is the balance."""

    class Kind(models.TextChoices):
        GRANT = "grant"
        DEBIT = "debit"
        REFUND = "refund"

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.IntegerField(help_text="Signed: grants and refunds add, debits subtract.")
    reason = models.CharField(max_length=200, blank=True)
    booking = models.ForeignKey(
        "bookings.Booking", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_transactions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="debit", amount__lt=0) | Q(kind__in=["grant", "refund"], amount__gt=0)),
                name="credit_transaction_sign_matches_kind",
            ),
            # A booking is debited at most once and refunded at most once.
            models.UniqueConstraint(
                fields=["booking", "kind"],
                condition=Q(booking__isnull=False),
                name="credit_transaction_once_per_booking",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount:+d}"


class Booking(Workflow):
    """A confirmed booking holds one place of its slot and its session; cancelling frees both."""

    class State(models.TextChoices):
        CONFIRMED = "confirmed"
        CANCELLED = "cancelled"

    workflow_type = "booking"
    # Validation happens before the row exists (one transaction), so it starts confirmed.
    initial_state = State.CONFIRMED
    final_states = frozenset({State.CANCELLED})
    admin_transitions = {"cancel": "bookings.services.admin_cancel"}

    state = FSMField(max_length=32, protected=True, db_index=True, choices=State.choices, default=State.CONFIRMED)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    athlete = models.ForeignKey(Athlete, on_delete=models.PROTECT, related_name="bookings")
    credits_debited = models.PositiveIntegerField(default=0)
    credits_refunded = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "athlete"], condition=Q(state="confirmed"), name="booking_one_active_per_athlete_slot"
            ),
        ]
        indexes = [models.Index(fields=["athlete", "-created_at"], name="booking_athlete_created")]

    def __str__(self):
        return f"booking {self.pk}"

    def is_party(self, user) -> bool:
        if not user.is_authenticated:
            return False
        return user.pk in (self.athlete.user_id, self.slot.coach.user_id)

    @transition(
        field=state,
        source=State.CONFIRMED,
        target=State.CANCELLED,
        custom={"admin": True, "label": "Cancel (refund by policy)"},
    )
    def cancel(self, refunded: int = 0):
        """The athlete or staff cancelled before the start; `refunded` credits went back."""
        self.credits_refunded = refunded

    @classmethod
    def invariant_problems(cls) -> Iterator[tuple[str, str]]:
        """Cross-row invariants of bookings and credits, for `zea verify`."""
        from sessions.models import TrainingSession

        accounts = CreditAccount.objects.annotate(ledger=Coalesce(Sum("transactions__amount"), 0)).filter(
            Q(balance__lt=0) | ~Q(balance=F("ledger"))
        )
        for account in accounts.values("athlete_id", "balance", "ledger"):
            yield (
                f"credits:{account['athlete_id']}",
                f"balance {account['balance']} but the ledger sums to {account['ledger']}",
            )
        slots = Slot.objects.annotate(active=Count("bookings", filter=Q(bookings__state=cls.State.CONFIRMED))).filter(
            Q(booked_count__gt=F("capacity")) | ~Q(booked_count=F("active"))
        )
        for slot_id, booked, capacity, active in slots.values_list("id", "booked_count", "capacity", "active"):
            yield f"slot:{slot_id}", f"booked_count {booked}, capacity {capacity}, {active} confirmed bookings"
        cancelled_session = TrainingSession.State.CANCELLED
        without_session = cls.objects.filter(state=cls.State.CONFIRMED).exclude(
            pk__in=TrainingSession.objects.exclude(state=cancelled_session).values("booking_id")
        )
        for pk in without_session.values_list("pk", flat=True):
            yield pk, "confirmed booking without a live training session"
        live_session = cls.objects.filter(state=cls.State.CANCELLED).filter(
            pk__in=TrainingSession.objects.exclude(state=cancelled_session).values("booking_id")
        )
        for pk in live_session.values_list("pk", flat=True):
            yield pk, "cancelled booking whose training session is not cancelled"
        debits = CreditTransaction.objects.filter(kind=CreditTransaction.Kind.DEBIT, booking=models.OuterRef("pk"))
        unpaid = cls.objects.filter(credits_debited__gt=0).exclude(models.Exists(debits))
        for pk in unpaid.values_list("pk", flat=True):
            yield pk, "booking debited credits without a debit in the ledger"


class IdempotencyKey(models.Model):
    """The first response to a POST carrying `Idempotency-Key`, replayed to retries of it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body.")
    status = models.PositiveSmallIntegerField()
    body = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self):
        return f"{self.key} ({self.status})"
