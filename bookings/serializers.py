from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# --- Slots -------------------------------------------------------------------


class SlotInput(serializers.Serializer):
    coach_id = serializers.UUIDField(required=False, help_text="Defaults to the calling coach.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    price_credits = serializers.IntegerField(min_value=0, max_value=10000, default=1)

    def validate(self, attrs):
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": [_("Must be after starts_at.")]})
        return attrs


class SlotFilters(serializers.Serializer):
    coach = serializers.UUIDField(required=False)
    available = serializers.BooleanField(required=False, allow_null=True, default=None)
    # `from` is a Python keyword: the view maps the query parameter onto `from_`.
    from_ = serializers.DateTimeField(required=False)
    to = serializers.DateTimeField(required=False)


class SlotOutput(serializers.Serializer):
    id = serializers.UUIDField()
    coach_id = serializers.UUIDField()
    coach_name = serializers.CharField(source="coach.name")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    price_credits = serializers.IntegerField()
    booked_count = serializers.IntegerField()
    spots_left = serializers.IntegerField()


# --- Credits -----------------------------------------------------------------


class GrantInput(serializers.Serializer):
    athlete_id = serializers.UUIDField()
    amount = serializers.IntegerField(min_value=1, max_value=100000)
    reason = serializers.CharField(max_length=200)


class GrantOutput(serializers.Serializer):
    athlete_id = serializers.UUIDField()
    balance = serializers.IntegerField()


class CreditTransactionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.IntegerField(help_text="Signed: grants and refunds positive, debits negative.")
    reason = serializers.CharField()
    booking_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()


class CreditsOutput(serializers.Serializer):
    balance = serializers.IntegerField()
    transactions = CreditTransactionOutput(many=True)


# --- Bookings ----------------------------------------------------------------


class BookingInput(serializers.Serializer):
    slot_id = serializers.UUIDField()


class BookedOutput(serializers.Serializer):
    id = serializers.UUIDField(source="booking.pk")
    execution_id = serializers.UUIDField(source="booking.pk")
    state = serializers.CharField(source="booking.state")
    slot_id = serializers.UUIDField(source="booking.slot_id")
    session_id = serializers.UUIDField()
    credits_debited = serializers.IntegerField(source="booking.credits_debited")
    credits_remaining = serializers.IntegerField()


class BookingOutput(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    execution_id = serializers.UUIDField(source="pk")
    state = serializers.CharField()
    slot_id = serializers.UUIDField()
    athlete_id = serializers.UUIDField()
    coach_id = serializers.UUIDField(source="slot.coach_id")
    starts_at = serializers.DateTimeField(source="slot.starts_at")
    ends_at = serializers.DateTimeField(source="slot.ends_at")
    session_id = serializers.SerializerMethodField()
    credits_debited = serializers.IntegerField()
    credits_refunded = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_session_id(self, booking) -> str | None:
        session = getattr(booking, "session", None)
        return str(session.pk) if session is not None else None


class CancelledOutput(serializers.Serializer):
    id = serializers.UUIDField(source="booking.pk")
    state = serializers.CharField(source="booking.state")
    refunded = serializers.SerializerMethodField()
    credits_refunded = serializers.IntegerField(source="refunded")
    credits_remaining = serializers.IntegerField()

    def get_refunded(self, result) -> bool:
        return result.refunded > 0
