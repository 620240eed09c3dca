from django.urls import path

from bookings import api

urlpatterns = [
    path("slots/", api.SlotListCreateView.as_view(), name="slot-list"),
    path("credits/grants/", api.CreditGrantView.as_view(), name="credit-grant"),
    path("credits/me/", api.MyCreditsView.as_view(), name="credits-me"),
    path("bookings/", api.BookingListCreateView.as_view(), name="booking-list"),
    path("bookings/<uuid:booking_id>/", api.BookingDetailView.as_view(), name="booking-detail"),
    path("bookings/<uuid:booking_id>/cancel/", api.BookingCancelView.as_view(), name="booking-cancel"),
]
