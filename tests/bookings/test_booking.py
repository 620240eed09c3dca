"""Booking and cancelling through the API: the happy path, every refusal, and all-or-nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from bookings import services
from bookings.models import Booking, CreditAccount, CreditTransaction, Slot
from sessions.models import TrainingSession
from tests.bookings.conftest import new_slot, ready_athlete
from tests.conftest import client_for, register_athlete
from zea.workflows.models import AuditEvent, OutboxMessage


def book(client, slot, **headers):
    return client.post("/api/bookings/", {"slot_id": str(slot.pk)}, headers=headers)


def counts():
    return (
        Booking.objects.count(),
        TrainingSession.objects.count(),
        CreditTransaction.objects.filter(kind="debit").count(),
        OutboxMessage.objects.filter(template__startswith="bookings/").count(),
        sum(Slot.objects.values_list("booked_count", flat=True)),
    )


def test_a_booking_is_confirmed_with_its_session_debit_and_emails(booker, slot):
    user, client = booker
    response = book(client, slot)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "confirmed" and body["id"] == body["execution_id"]
    assert body["slot_id"] == str(slot.pk) and body["credits_remaining"] == 4
    booking = Booking.objects.get(pk=body["id"])
    assert booking.athlete == user.athlete and booking.credits_debited == 1
    session = TrainingSession.objects.get(pk=body["session_id"])
    assert session.booking == booking and session.state == "scheduled"
    assert (session.coach, session.athlete) == (slot.coach, user.athlete)
    assert (session.scheduled_start, session.scheduled_end) == (slot.starts_at, slot.ends_at)
    slot.refresh_from_db()
    assert slot.booked_count == 1
    assert CreditAccount.objects.get(athlete=user.athlete).balance == 4
    debit = CreditTransaction.objects.get(kind="debit")
    assert (debit.amount, debit.booking) == (-1, booking)
    recipients = sorted(m.to[0] for m in OutboxMessage.objects.filter(execution_id=booking.pk))
    assert recipients == sorted([user.email, slot.coach.user.email])
    assert list(AuditEvent.objects.filter(execution_id=booking.pk).values_list("transition", "target")) == [
        ("start", "confirmed")
    ]
    assert AuditEvent.objects.filter(execution_id=session.pk, target="scheduled").count() == 1


@pytest.mark.parametrize("credits", [0, 3])
def test_a_free_slot_takes_the_place_and_no_credit(coach_obj, credits):
    user, client = ready_athlete(credits)
    slot = new_slot(coach_obj, price_credits=0)
    response = book(client, slot)
    assert response.status_code == 201, response.json()
    assert response.json()["credits_remaining"] == credits
    slot.refresh_from_db()
    assert slot.booked_count == 1
    assert not CreditTransaction.objects.filter(kind="debit").exists()
    booking = Booking.objects.get(pk=response.json()["id"])
    assert booking.credits_debited == 0 and TrainingSession.objects.filter(booking=booking).exists()
    assert OutboxMessage.objects.filter(execution_id=booking.pk).count() == 2


def test_the_athlete_sees_the_booking_in_the_workflow_timeline(booker, slot):
    user, client = booker
    booking_id = book(client, slot).json()["id"]
    assert client.get(f"/api/workflows/{booking_id}/").json()["state"] == "confirmed"
    assert client_for(slot.coach.user).get(f"/api/workflows/{booking_id}/").status_code == 200
    _, other = ready_athlete(0)
    assert other.get(f"/api/workflows/{booking_id}/").status_code == 404


def test_an_athlete_with_an_incomplete_profile_cannot_book(db, slot):
    user = register_athlete().athlete.user
    services.grant_credits(athlete_id=user.athlete.pk, amount=3, reason="t", by=None)
    response = book(client_for(user), slot)
    assert response.status_code == 403
    assert response.json()["code"] == "onboarding_incomplete" and response.json()["detail"]
    assert counts() == (0, 0, 0, 0, 0)
    # The profile is checked first whether or not the slot exists.
    response = book(client_for(user), Slot(pk="00000000-0000-0000-0000-000000000000"))
    assert (response.status_code, response.json()["code"]) == (403, "onboarding_incomplete")


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("unknown", 404, "slot_not_found"),
        ("started", 400, "slot_started"),
        ("full", 409, "slot_full"),
        ("poor", 402, "insufficient_credits"),
        ("twice", 409, "already_booked"),
        ("bad_id", 400, "invalid"),
        ("missing", 400, "invalid"),
    ],
)
def test_refusals_change_nothing(booker, coach_obj, case, status, code):
    user, client = booker
    slot = new_slot(coach_obj, capacity=2, price_credits=2)
    before = None
    if case == "unknown":
        slot = Slot(pk="00000000-0000-0000-0000-000000000000")
    elif case == "started":
        slot = new_slot(coach_obj, start_in=timedelta(minutes=-5))
    elif case == "full":
        slot = new_slot(coach_obj)
        assert book(ready_athlete(1)[1], slot).status_code == 201
    elif case == "poor":
        slot = new_slot(coach_obj, price_credits=6)
    elif case == "twice":
        assert book(client, slot).status_code == 201
    before = counts(), CreditAccount.objects.get(athlete=user.athlete).balance
    if case == "bad_id":
        response = client.post("/api/bookings/", {"slot_id": "nope"})
    elif case == "missing":
        response = client.post("/api/bookings/", {})
    else:
        response = book(client, slot)
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code and response.json()["detail"]
    assert (counts(), CreditAccount.objects.get(athlete=user.athlete).balance) == before


def test_only_athletes_book_and_anonymous_gets_401(staff, coach, anon, slot):
    for client, status in ((staff, 403), (coach, 403), (anon, 401)):
        response = book(client, slot)
        assert response.status_code == status
        assert response.json()["code"] and response.json()["detail"]
    assert counts() == (0, 0, 0, 0, 0)


class Boom(Exception):
    pass


def test_a_failure_inside_the_booking_leaves_nothing_behind(booker, slot, monkeypatch):
    user, client = booker
    events_before = AuditEvent.objects.count()

    def explode(**kwargs):
        raise Boom("session store down")

    monkeypatch.setattr("sessions.services.schedule_for_booking", explode)
    with pytest.raises(Boom):
        services.book_slot(user=user, slot_id=slot.pk)
    assert counts() == (0, 0, 0, 0, 0)
    assert CreditAccount.objects.get(athlete=user.athlete).balance == 5
    assert AuditEvent.objects.count() == events_before


def test_an_unexpected_failure_answers_json_500_and_leaves_nothing(booker, slot, monkeypatch):
    user, client = booker
    client.raise_request_exception = False

    def explode(**kwargs):
        raise Boom("session store down")

    monkeypatch.setattr("sessions.services.schedule_for_booking", explode)
    response = book(client, slot)
    assert response.status_code == 500 and response.json()["code"] == "server_error"
    assert counts() == (0, 0, 0, 0, 0)


def test_lists_and_details_show_own_bookings_staff_all_others_404(booker, slot, coach_obj, staff):
    user, client = booker
    mine = book(client, slot).json()["id"]
    other_user, other = ready_athlete(2)
    theirs = book(other, new_slot(coach_obj)).json()["id"]
    listed = client.get("/api/bookings/").json()
    assert [b["id"] for b in listed["results"]] == [mine] and listed["count"] == 1
    assert listed["results"][0]["session_id"] and listed["results"][0]["starts_at"]
    assert client.get(f"/api/bookings/{mine}/").json()["state"] == "confirmed"
    response = client.get(f"/api/bookings/{theirs}/")
    assert response.status_code == 404 and response.json()["code"] == "booking_not_found"
    assert client.post(f"/api/bookings/{theirs}/cancel/").status_code == 404
    assert Booking.objects.get(pk=theirs).state == "confirmed"
    assert {b["id"] for b in staff.get("/api/bookings/").json()["results"]} == {mine, theirs}
    assert staff.get("/api/bookings/?state=cancelled").json()["count"] == 0
    assert staff.get("/api/bookings/?state=bogus").json()["code"] == "invalid_filter"
    assert client.get("/api/bookings/not-a-uuid/").status_code == 404


def test_anonymous_gets_401_everywhere(anon, booker, slot):
    booking_id = book(booker[1], slot).json()["id"]
    for method, path in [
        ("get", "/api/bookings/"),
        ("get", f"/api/bookings/{booking_id}/"),
        ("post", f"/api/bookings/{booking_id}/cancel/"),
        ("get", "/api/slots/"),
        ("post", "/api/slots/"),
        ("get", "/api/credits/me/"),
        ("post", "/api/credits/grants/"),
    ]:
        response = getattr(anon, method)(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "not_authenticated"


def test_cancelling_early_refunds_frees_the_slot_and_cancels_the_session(booker, slot):
    user, client = booker
    booking_id = book(client, slot).json()["id"]
    response = client.post(f"/api/bookings/{booking_id}/cancel/")
    assert response.status_code == 200, response.json()
    assert response.json() | {"id": None} == {
        "id": None,
        "state": "cancelled",
        "refunded": True,
        "credits_refunded": 1,
        "credits_remaining": 5,
    }
    slot.refresh_from_db()
    assert slot.booked_count == 0
    booking = Booking.objects.get(pk=booking_id)
    assert booking.state == "cancelled" and booking.session.state == "cancelled"
    assert CreditTransaction.objects.get(kind="refund").amount == 1
    assert list(AuditEvent.objects.filter(execution_id=booking_id).values_list("transition", flat=True)) == [
        "start",
        "cancel",
    ]
    cancelled_mails = OutboxMessage.objects.filter(template__startswith="bookings/email/cancelled")
    assert sorted(m.to[0] for m in cancelled_mails) == sorted([user.email, slot.coach.user.email])
    again = client.post(f"/api/bookings/{booking_id}/cancel/")
    assert again.status_code == 409 and again.json()["code"] == "not_cancellable"
    # The place is free again: the same athlete may book it anew.
    assert book(client, slot).status_code == 201


def test_cancelling_late_refunds_nothing(booker, coach_obj):
    user, client = booker
    slot = new_slot(coach_obj, start_in=timedelta(hours=3))
    booking_id = book(client, slot).json()["id"]
    response = client.post(f"/api/bookings/{booking_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["refunded"] is False and response.json()["credits_remaining"] == 4
    assert not CreditTransaction.objects.filter(kind="refund").exists()


def test_a_started_slot_cannot_be_cancelled(booker, slot):
    user, client = booker
    booking_id = book(client, slot).json()["id"]
    with time_machine.travel(slot.starts_at + timedelta(minutes=1)):
        response = client.post(f"/api/bookings/{booking_id}/cancel/")
    assert response.status_code == 409 and response.json()["code"] == "not_cancellable"
    assert Booking.objects.get(pk=booking_id).state == "confirmed"


def test_a_session_whose_time_is_recorded_cannot_be_cancelled(booker, coach_obj):
    # The coach may record a session that began up to hours before its slot; from then on
    # the booking stays, with the contract's code, and nothing moves.
    user, client = booker
    slot = new_slot(coach_obj, start_in=timedelta(hours=2))
    booking_id = book(client, slot).json()["id"]
    session = TrainingSession.objects.get(booking_id=booking_id)
    now = timezone.now()
    times = {
        "started_at": (now - timedelta(minutes=70)).isoformat(),
        "ended_at": (now - timedelta(minutes=10)).isoformat(),
    }
    assert client_for(coach_obj.user).post(f"/api/sessions/{session.pk}/record-time/", times).status_code == 200
    before = counts(), AuditEvent.objects.count()
    response = client.post(f"/api/bookings/{booking_id}/cancel/")
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "not_cancellable" and "recorded" in response.json()["detail"]
    assert (counts(), AuditEvent.objects.count()) == before
    assert Booking.objects.get(pk=booking_id).state == "confirmed"
    assert TrainingSession.objects.get(pk=session.pk).state == "time_recorded"


def test_staff_may_cancel_the_coach_may_not(booker, slot, staff):
    booking_id = book(booker[1], slot).json()["id"]
    response = client_for(slot.coach.user).post(f"/api/bookings/{booking_id}/cancel/")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert staff.post(f"/api/bookings/{booking_id}/cancel/").json()["state"] == "cancelled"


def test_the_admin_cancel_button_goes_through_the_service(booker, slot, staff_user):
    from django.contrib.admin.sites import site

    from bookings.admin import BookingAdmin

    booking = Booking.objects.get(pk=book(booker[1], slot).json()["id"])
    staff_user.is_superuser = True
    staff_user.save()
    admin_client = Client()
    admin_client.force_login(staff_user)
    assert isinstance(site._registry[Booking], BookingAdmin)
    page = admin_client.get(f"/admin/bookings/booking/{booking.pk}/change/")
    assert page.status_code == 200
    response = admin_client.post(f"/admin/bookings/booking/{booking.pk}/change/", {"_fsm_transition_to": "cancel"})
    assert response.status_code == 302
    notes = [str(m) for m in admin_client.get(response.url).context["messages"]]
    assert notes == ["cancel: done."], notes
    booking.refresh_from_db()
    assert booking.state == "cancelled" and booking.session.state == "cancelled"
    assert CreditAccount.objects.get(athlete=booking.athlete).balance == 5


def test_verify_passes_after_bookings_and_cancellations(coach_obj):
    clients = [ready_athlete(3)[1] for _ in range(3)]
    slots = [new_slot(coach_obj, capacity=3) for _ in range(2)]
    ids = [book(c, s).json()["id"] for c in clients for s in slots]
    for booking_id, client in zip(ids[::2], clients, strict=True):
        assert client.post(f"/api/bookings/{booking_id}/cancel/").status_code == 200
    assert Booking.objects.filter(state="confirmed").count() == 3
    assert list(Booking.invariant_problems()) == []
    call_command("zea", "verify")


def test_invariants_report_a_broken_balance_and_slot_count(booker, slot):
    book(booker[1], slot)
    CreditAccount.objects.update(balance=99)
    Slot.objects.update(booked_count=0)
    problems = [problem for _, problem in Booking.invariant_problems()]
    assert any("ledger sums to 4" in p for p in problems)
    assert any("booked_count 0" in p for p in problems)
    with pytest.raises(SystemExit):
        call_command("zea", "verify")
