"""The admin pages of bookings and sessions render; the bookings list does not query per row."""

import pytest
from django.test import Client

from bookings import services
from bookings.models import Booking, CreditAccount
from tests.bookings.conftest import new_slot, ready_athlete


@pytest.fixture
def admin_client(staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client = Client()
    client.force_login(staff_user)
    return client


def test_admin_pages_render(admin_client, booker, slot):
    user, _ = booker
    booked = services.book_slot(user=user, slot_id=slot.pk)
    account = CreditAccount.objects.get(athlete=user.athlete)
    pages = [
        "/admin/bookings/slot/",
        f"/admin/bookings/slot/{slot.pk}/change/",
        "/admin/bookings/slot/add/",
        "/admin/bookings/booking/",
        f"/admin/bookings/booking/{booked.booking.pk}/change/",
        "/admin/bookings/creditaccount/",
        f"/admin/bookings/creditaccount/{account.pk}/change/",
        "/admin/bookings/creditaccount/add/",
        "/admin/bookings/credittransaction/",
        "/admin/coaching/trainingsession/",
        f"/admin/coaching/trainingsession/{booked.session_id}/change/",
    ]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page
    change = admin_client.get(f"/admin/bookings/booking/{booked.booking.pk}/change/").content.decode()
    assert "Cancel (refund by policy)" in change


def test_the_bookings_list_has_no_n_plus_one(coach_obj, staff, django_assert_max_num_queries):
    for _ in range(5):
        user, _ = ready_athlete(1)
        services.book_slot(user=user, slot_id=new_slot(coach_obj).pk)
    with django_assert_max_num_queries(4):
        response = staff.get("/api/bookings/")
    assert response.json()["count"] == Booking.objects.count() == 5
    assert all(row["session_id"] for row in response.json()["results"])
