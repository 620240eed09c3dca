"""The admin pages of bookings and sessions render; the bookings list does not query per row."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from bookings import services
from bookings.admin import SlotForm
from bookings.models import Booking, CreditAccount, Slot
from tests.bookings.conftest import new_slot, ready_athlete
from zea.workflows import verify


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


def _slot_form(slot, **changes) -> dict:
    """The slot's change form as the admin posts it (split date and time fields)."""
    values = {"coach": slot.coach_id, "starts_at": slot.starts_at, "ends_at": slot.ends_at} | changes
    data = {"coach": values["coach"], "capacity": changes.get("capacity", slot.capacity)}
    data["price_credits"] = changes.get("price_credits", slot.price_credits)
    for name in ("starts_at", "ends_at"):
        local = timezone.localtime(values[name])
        data[f"{name}_0"], data[f"{name}_1"] = local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")
    return data


@pytest.mark.parametrize(
    ("move", "message"),
    [("into_the_past", b"A slot must start in the future."), ("to_20_hours", b"A slot lasts at most 12 hours.")],
)
def test_editing_a_slot_keeps_the_time_rules(admin_client, coach_obj, move, message):
    slot, now = new_slot(coach_obj), timezone.now()
    moved = {
        "into_the_past": {"starts_at": now - timedelta(days=10), "ends_at": now - timedelta(days=9, hours=23)},
        "to_20_hours": {"ends_at": slot.starts_at + timedelta(hours=20)},
    }[move]
    response = admin_client.post(f"/admin/bookings/slot/{slot.pk}/change/", _slot_form(slot, **moved))
    assert response.status_code == 200 and message in response.content
    saved = Slot.objects.get(pk=slot.pk)
    assert (saved.starts_at, saved.ends_at) == (slot.starts_at, slot.ends_at)


@pytest.mark.django_db(transaction=True)
def test_saving_a_slot_while_a_booking_commits_keeps_the_booked_place(staff_user, coach_obj, monkeypatch):
    staff_user.is_superuser = True
    staff_user.save()
    client = Client()
    client.force_login(staff_user)
    slot = new_slot(coach_obj, capacity=1)
    user, _ = ready_athlete(2)
    booking = {}

    def book():
        try:
            booking["done"] = services.book_slot(user=user, slot_id=slot.pk)
        finally:
            connection.close()

    original_clean = SlotForm.clean

    def clean_while_a_booking_arrives(form):
        # The booking starts while staff's save is under way: it must wait for the save,
        # not commit in between and have its place written back to 0.
        booking["thread"] = threading.Thread(target=book)
        booking["thread"].start()
        booking["thread"].join(timeout=1)
        return original_clean(form)

    monkeypatch.setattr(SlotForm, "clean", clean_while_a_booking_arrives)
    response = client.post(f"/admin/bookings/slot/{slot.pk}/change/", _slot_form(slot, capacity=2))
    booking["thread"].join(timeout=10)
    assert response.status_code == 302
    slot.refresh_from_db()
    assert "done" in booking and slot.capacity == 2
    assert slot.booked_count == Booking.objects.filter(slot=slot, state="confirmed").count() == 1
    assert not list(verify.verify_all())
