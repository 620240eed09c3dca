"""`Idempotency-Key`: a retried POST gets the first response and creates nothing twice."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from bookings import idempotency
from bookings.models import Booking, CreditAccount, CreditTransaction, IdempotencyKey, Slot
from tests.bookings.conftest import new_slot, race, ready_athlete
from tests.conftest import client_for


def book(client, slot, key):
    return client.post("/api/bookings/", {"slot_id": str(slot.pk)}, headers={"Idempotency-Key": key})


def test_the_same_key_twice_returns_the_same_booking_with_one_debit(booker, slot):
    user, client = booker
    first = book(client, slot, "k-1")
    second = book(client, slot, "k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 1
    assert CreditTransaction.objects.filter(kind="debit").count() == 1
    assert CreditAccount.objects.get(athlete=user.athlete).balance == 4


def test_a_used_key_with_another_body_is_refused(booker, slot, coach_obj):
    _, client = booker
    assert book(client, slot, "k-2").status_code == 201
    response = book(client, new_slot(coach_obj), "k-2")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused" and response.json()["detail"]
    assert Booking.objects.count() == 1


def test_keys_belong_to_their_user(booker, slot, coach_obj):
    _, client = booker
    _, other = ready_athlete(2)
    roomy = new_slot(coach_obj, capacity=2)
    assert book(client, roomy, "shared").status_code == 201
    assert book(other, roomy, "shared").status_code == 201
    assert Booking.objects.count() == 2


def test_a_refusal_is_not_stored_so_a_retry_is_evaluated_afresh(booker, coach_obj, staff):
    user, client = booker
    pricey = new_slot(coach_obj, price_credits=7)
    refused = book(client, pricey, "k-3")
    assert refused.status_code == 402 and not IdempotencyKey.objects.exists()
    staff.post("/api/credits/grants/", {"athlete_id": str(user.athlete.pk), "amount": 2, "reason": "top-up"})
    assert book(client, pricey, "k-3").status_code == 201


def test_slot_creation_and_grants_are_idempotent_too(staff, coach_obj, booker):
    user, _ = booker
    starts_at = timezone.now() + timedelta(days=2)
    body = {
        "coach_id": str(coach_obj.pk),
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=1)).isoformat(),
    }
    first = staff.post("/api/slots/", body, headers={"Idempotency-Key": "slot-1"})
    again = staff.post("/api/slots/", body, headers={"Idempotency-Key": "slot-1"})
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert Slot.objects.count() == 1
    grant = {"athlete_id": str(user.athlete.pk), "amount": 1, "reason": "r"}
    for _ in range(3):
        assert staff.post("/api/credits/grants/", grant, headers={"Idempotency-Key": "grant-1"}).json()["balance"] == 6
    # The same key on another endpoint is another request.
    assert staff.post("/api/credits/grants/", grant, headers={"Idempotency-Key": "slot-1"}).status_code == 422


def test_an_overlong_key_is_refused(booker, slot):
    response = book(booker[1], slot, "x" * 256)
    assert response.status_code == 400 and response.json()["code"] == "invalid_idempotency_key"
    assert not Booking.objects.exists()


def test_expired_keys_are_pruned_and_may_be_reused(booker, coach_obj, settings):
    _, client = booker
    first_slot, second_slot = new_slot(coach_obj), new_slot(coach_obj)
    assert book(client, first_slot, "old").status_code == 201
    later = timezone.now() + settings.ZEA_IDEMPOTENCY_TTL + timedelta(minutes=1)
    with time_machine.travel(later):
        assert book(client, second_slot, "old").status_code == 201
        assert idempotency.prune_expired() == 0  # the reused key is fresh again
    with time_machine.travel(later + settings.ZEA_IDEMPOTENCY_TTL + timedelta(minutes=1)):
        assert idempotency.prune_expired() == 1
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_create_one_booking(coach_obj):
    user, _ = ready_athlete(5)
    slot = new_slot(coach_obj, capacity=5)
    clients = [client_for(user) for _ in range(8)]
    responses = race(8, lambda i: book(clients[i], slot, "same-key"))
    assert all(not isinstance(r, Exception) for r in responses), responses
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert Booking.objects.count() == 1
    assert CreditAccount.objects.get(athlete=user.athlete).balance == 4
