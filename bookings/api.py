"""Slots, credits and bookings endpoints: validate, call one service, render."""

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings import idempotency, services
from bookings import serializers as s
from bookings.models import CreditTransaction, Slot
from zea.accounts.permissions import IsAthlete, IsStaff, IsStaffOrCoach
from zea.errors import Invalid

IDEMPOTENCY_HEADER = OpenApiParameter(
    idempotency.HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Retrying with the same key returns the first response and creates nothing twice.",
)


def _create_once(request, input_serializer, create, output_serializer) -> Response:
    """Validate, create through a service, answer 201; once per Idempotency-Key."""

    def run():
        data = input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(output_serializer(create(dict(data.validated_data))).data, status=status.HTTP_201_CREATED)

    return idempotency.respond_once(request, run)


class SlotListCreateView(GenericAPIView):
    serializer_class = s.SlotOutput

    def get_permissions(self):
        return [IsStaffOrCoach()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(
        operation_id="slots_list",
        responses=s.SlotOutput(many=True),
        parameters=[
            OpenApiParameter("coach", OpenApiTypes.UUID),
            OpenApiParameter("available", OpenApiTypes.BOOL, description="Not started and with a place left."),
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="Starting at or after."),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="Starting before."),
        ],
    )
    def get(self, request):
        params = {("from_" if k == "from" else k): v for k, v in request.query_params.items()}
        filters = s.SlotFilters(data=params)
        if not filters.is_valid():
            raise Invalid(_("Invalid filter."), code="invalid_filter", errors=filters.errors)
        wanted = filters.validated_data
        slots = Slot.objects.select_related("coach__user")
        if "coach" in wanted:
            slots = slots.filter(coach_id=wanted["coach"])
        if "from_" in wanted:
            slots = slots.filter(starts_at__gte=wanted["from_"])
        if "to" in wanted:
            slots = slots.filter(starts_at__lt=wanted["to"])
        if wanted.get("available") is True:
            slots = slots.filter(starts_at__gt=timezone.now(), booked_count__lt=F("capacity"))
        elif wanted.get("available") is False:
            slots = slots.exclude(starts_at__gt=timezone.now(), booked_count__lt=F("capacity"))
        page = self.paginate_queryset(slots.order_by("starts_at", "id"))
        return self.get_paginated_response(s.SlotOutput(page, many=True).data)

    @extend_schema(request=s.SlotInput, responses={201: s.SlotOutput}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        def create(fields):
            if "coach_id" not in fields:
                coach = getattr(request.user, "coach", None)
                if coach is None:
                    raise Invalid(_("coach_id is required."), code="invalid", errors={"coach_id": [_("Required.")]})
                fields["coach_id"] = coach.pk
            return services.create_slot(by=request.user, **fields)

        return _create_once(request, s.SlotInput, create, s.SlotOutput)


class CreditGrantView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=s.GrantInput, responses={201: s.GrantOutput}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        return _create_once(
            request, s.GrantInput, lambda fields: services.grant_credits(by=request.user, **fields), s.GrantOutput
        )


class MyCreditsView(APIView):
    permission_classes = [IsAthlete]

    @extend_schema(responses=s.CreditsOutput)
    def get(self, request):
        athlete = request.user.athlete
        # Every row, so a client can check that the signed amounts add up to the balance.
        transactions = CreditTransaction.objects.filter(account__athlete=athlete).order_by("-created_at", "-id")
        out = {"balance": services.balance_of(athlete), "transactions": transactions}
        return Response(s.CreditsOutput(out).data)


class BookingListCreateView(GenericAPIView):
    serializer_class = s.BookingOutput

    def get_permissions(self):
        return [IsAthlete()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(
        operation_id="bookings_list",
        responses=s.BookingOutput(many=True),
        parameters=[OpenApiParameter("state", OpenApiTypes.STR, enum=["confirmed", "cancelled"])],
    )
    def get(self, request):
        bookings = services.visible_bookings(request.user)
        state = request.query_params.get("state")
        if state:
            if state not in ("confirmed", "cancelled"):
                raise Invalid(_("state is confirmed or cancelled."), code="invalid_filter")
            bookings = bookings.filter(state=state)
        page = self.paginate_queryset(bookings.order_by("-created_at", "pk"))
        return self.get_paginated_response(s.BookingOutput(page, many=True).data)

    @extend_schema(request=s.BookingInput, responses={201: s.BookedOutput}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        return _create_once(
            request, s.BookingInput, lambda fields: services.book_slot(user=request.user, **fields), s.BookedOutput
        )


class BookingDetailView(APIView):
    @extend_schema(responses=s.BookingOutput)
    def get(self, request, booking_id):
        booking = services.get_booking(user=request.user, booking_id=booking_id)
        return Response(s.BookingOutput(booking).data)


class BookingCancelView(APIView):
    @extend_schema(request=None, responses=s.CancelledOutput)
    def post(self, request, booking_id):
        cancelled = services.cancel_booking(user=request.user, booking_id=booking_id)
        return Response(s.CancelledOutput(cancelled).data)
