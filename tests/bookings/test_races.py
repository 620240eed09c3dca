"""Real transactions, threads released together: no double booking, no overdraft, no deadlock."""

import random

import pytest

from bookings.models import Booking, CreditAccount, CreditTransaction, Slot
from tests.bookings.conftest import new_slot, race, ready_athlete
from tests.conftest import client_for
from zea.workflows import verify

pytestmark = pytest.mark.django_db(transaction=True)


def post_booking(client, slot):
    response = client.post("/api/bookings/", {"slot_id": str(slot.pk)})
    return response.status_code, response.json()


def test_twenty_athletes_one_place_exactly_one_wins(coach_obj):
    slot = new_slot(coach_obj, capacity=1)
    athletes = [ready_athlete(1) for _ in range(20)]
    results = race(20, lambda i: post_booking(athletes[i][1], slot))
    assert all(not isinstance(r, Exception) for r in results), results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19
    assert {body["code"] for status, body in results if status == 409} == {"slot_full"}
    slot.refresh_from_db()
    assert slot.booked_count == 1
    assert Booking.objects.filter(state="confirmed").count() == 1
    assert CreditTransaction.objects.filter(kind="debit").count() == 1
    assert list(verify.verify_all()) == []


def test_one_athlete_two_credits_six_slots_at_once(coach_obj):
    user, _ = ready_athlete(2)
    slots = [new_slot(coach_obj) for _ in range(6)]
    clients = [client_for(user) for _ in range(6)]
    results = race(6, lambda i: post_booking(clients[i], slots[i]))
    assert all(not isinstance(r, Exception) for r in results), results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 201, 402, 402, 402, 402]
    assert {body["code"] for status, body in results if status == 402} == {"insufficient_credits"}
    account = CreditAccount.objects.get(athlete=user.athlete)
    assert account.balance == 0
    assert sum(CreditTransaction.objects.filter(account=account).values_list("amount", flat=True)) == 0
    assert Booking.objects.filter(state="confirmed").count() == 2
    assert list(verify.verify_all()) == []


def test_mixed_bookings_and_cancellations_never_deadlock(coach_obj):
    slots = [new_slot(coach_obj, capacity=3) for _ in range(3)]
    athletes = [ready_athlete(10) for _ in range(6)]
    # Half of them start with a booking on every slot they may later cancel.
    held = {}
    for user, client in athletes[:3]:
        for slot in slots:
            status, body = post_booking(client, slot)
            assert status == 201, body
            held[(user.pk, slot.pk)] = body["id"]
    plan = []
    for user, _ in athletes:
        for slot in slots:
            plan.append((user, slot))
    random.Random(4).shuffle(plan)
    clients = [client_for(user) for user, _ in plan]

    def act(i):
        user, slot = plan[i]
        booking_id = held.get((user.pk, slot.pk))
        if booking_id:
            response = clients[i].post(f"/api/bookings/{booking_id}/cancel/")
        else:
            response = clients[i].post("/api/bookings/", {"slot_id": str(slot.pk)})
        return response.status_code, response.json()

    results = race(len(plan), act)
    assert all(not isinstance(r, Exception) for r in results), results
    assert {status for status, _ in results} <= {200, 201, 409}, results
    assert all(body.get("code") in (None, "slot_full") for _, body in results), results
    for slot in Slot.objects.all():
        assert slot.booked_count == Booking.objects.filter(slot=slot, state="confirmed").count() <= 3
    assert list(verify.verify_all()) == []


def test_one_athlete_racing_for_one_slot_holds_one_booking(coach_obj):
    # The duplicate check rides on the slot lock; a same-athlete booking committed while
    # another waited for that lock is caught by the unique index, still as a 409.
    user, _ = ready_athlete(5)
    slot = new_slot(coach_obj, capacity=4)
    clients = [client_for(user) for _ in range(6)]
    results = race(6, lambda i: post_booking(clients[i], slot))
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(status for status, _ in results) == [201] + [409] * 5
    assert {body["code"] for status, body in results if status == 409} == {"already_booked"}
    slot.refresh_from_db()
    assert slot.booked_count == 1
    assert CreditAccount.objects.get(athlete=user.athlete).balance == 4
    assert list(verify.verify_all()) == []
