"""Booking emails: written with the booking, delivered by a real worker after commit."""

import pytest
from django.core import mail
from django.db import transaction

from bookings import services
from bookings.models import Booking
from tests.bookings.conftest import new_slot, ready_athlete
from tests.helpers import wait_until
from zea.workflows.models import OutboxMessage

pytestmark = pytest.mark.worker


class Boom(Exception):
    pass


def booking_mails():
    return [m for m in mail.outbox if "ooking" in m.subject]


def test_athlete_and_coach_are_notified_after_commit(celery_worker, coach_obj):
    user, client = ready_athlete(3)
    slot = new_slot(coach_obj)
    response = client.post("/api/bookings/", {"slot_id": str(slot.pk)})
    assert response.status_code == 201
    wait_until(lambda: len(booking_mails()) == 2)
    by_recipient = {m.to[0]: m for m in booking_mails()}
    assert set(by_recipient) == {user.email, coach_obj.user.email}
    assert by_recipient[user.email].subject.startswith("Booking confirmed")
    assert "Ana Atleta booked your slot" in by_recipient[coach_obj.user.email].body
    # and their rows are marked sent (the worker commits that just after handing them over)
    wait_until(lambda: not OutboxMessage.objects.filter(execution_id=response.json()["id"], sent_at__isnull=True))

    client.post(f"/api/bookings/{response.json()['id']}/cancel/")
    wait_until(lambda: len(booking_mails()) == 4)
    cancelled = [m for m in booking_mails() if m.subject.startswith("Booking cancelled")]
    assert sorted(m.to[0] for m in cancelled) == sorted([user.email, coach_obj.user.email])
    assert "went back to your balance" in next(m.body for m in cancelled if m.to == [user.email])


def test_a_rolled_back_booking_sends_nothing(celery_worker, coach_obj):
    user, _ = ready_athlete(3)
    first, second = new_slot(coach_obj), new_slot(coach_obj)
    with pytest.raises(Boom), transaction.atomic():
        services.book_slot(user=user, slot_id=first.pk)
        raise Boom
    assert not Booking.objects.exists() and not OutboxMessage.objects.filter(template__startswith="bookings/").exists()
    services.book_slot(user=user, slot_id=second.pk)  # a later booking's mails prove the worker was running
    wait_until(lambda: len(booking_mails()) == 2)
    assert OutboxMessage.objects.filter(template__startswith="bookings/").count() == 2
