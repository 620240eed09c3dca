"""Publishing and listing slots; granting credits and reading the ledger."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, ProgrammingError, transaction
from django.utils import timezone

from bookings import services
from bookings.models import CreditAccount, CreditTransaction, Slot
from tests.bookings.conftest import new_slot, ready_athlete
from tests.conftest import PASSWORD, unique_email
from zea.accounts.services import create_coach
from zea.errors import Invalid


def slot_body(coach, *, start_in=timedelta(days=2), length=timedelta(hours=1), **extra):
    starts_at = timezone.now() + start_in
    return {
        "coach_id": str(coach.pk),
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + length).isoformat(),
        **extra,
    }


@pytest.fixture
def other_coach(db):
    return create_coach(
        email=unique_email("coach"), password=PASSWORD, first_name="Otto", last_name="O", hourly_rate=30
    )


def test_staff_publish_a_slot_with_defaults(staff, coach_obj):
    response = staff.post("/api/slots/", slot_body(coach_obj))
    assert response.status_code == 201, response.json()
    body = response.json()
    slot = Slot.objects.get(pk=body["id"])
    assert (slot.coach, slot.capacity, slot.price_credits, slot.booked_count) == (coach_obj, 1, 1, 0)
    assert body["coach_id"] == str(coach_obj.pk) and body["spots_left"] == 1


def test_a_coach_publishes_for_itself_only(coach, coach_obj, other_coach):
    assert coach.post("/api/slots/", slot_body(coach_obj, capacity=4, price_credits=2)).status_code == 201
    body = slot_body(coach_obj, start_in=timedelta(days=5))
    del body["coach_id"]
    assert coach.post("/api/slots/", body).json()["coach_id"] == str(coach_obj.pk)
    response = coach.post("/api/slots/", slot_body(other_coach))
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert Slot.objects.filter(coach=other_coach).count() == 0


def test_athletes_cannot_publish(booker, coach_obj):
    response = booker[1].post("/api/slots/", slot_body(coach_obj))
    assert response.status_code == 403 and response.json()["detail"]
    assert not Slot.objects.exists()


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"start_in": timedelta(hours=-1)}, 400, "slot_in_past"),
        ({"length": timedelta(hours=-1)}, 400, "invalid"),
        ({"length": timedelta(0)}, 400, "invalid"),
        ({"length": timedelta(hours=13)}, 400, "invalid_range"),
        ({"capacity": 0}, 400, "invalid"),
        ({"price_credits": -1}, 400, "invalid"),
        ({"starts_at": "tomorrow"}, 400, "invalid"),
        ({"coach_id": "00000000-0000-0000-0000-000000000000"}, 404, "coach_not_found"),
    ],
)
def test_bad_slots_are_refused(staff, coach_obj, change, status, code):
    timing = {k: change.pop(k) for k in ("start_in", "length") if k in change}
    response = staff.post("/api/slots/", slot_body(coach_obj, **timing) | change)
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code and response.json()["detail"]
    assert not Slot.objects.exists()


def test_overlapping_slots_of_one_coach_are_refused(staff, coach_obj, other_coach):
    assert staff.post("/api/slots/", slot_body(coach_obj)).status_code == 201
    overlap = staff.post("/api/slots/", slot_body(coach_obj, start_in=timedelta(days=2, minutes=30)))
    assert overlap.status_code == 409 and overlap.json()["code"] == "slot_overlap"
    # Back to back is fine, and another coach may use the same time.
    assert staff.post("/api/slots/", slot_body(coach_obj, start_in=timedelta(days=2, hours=1))).status_code == 201
    assert staff.post("/api/slots/", slot_body(other_coach)).status_code == 201
    assert Slot.objects.count() == 3


def test_the_database_refuses_overlaps_and_overbooking_by_itself(coach_obj):
    slot = new_slot(coach_obj)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.create(coach=coach_obj, starts_at=slot.starts_at, ends_at=slot.ends_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked_count=2)


def test_listing_slots_filters_and_paginates_without_n_plus_one(
    booker, coach_obj, other_coach, django_assert_max_num_queries
):
    user, client = booker
    mine = [new_slot(coach_obj) for _ in range(3)]
    theirs = [new_slot(other_coach) for _ in range(3)]
    past = new_slot(coach_obj, start_in=timedelta(days=-1))
    services.book_slot(user=user, slot_id=mine[0].pk)
    with django_assert_max_num_queries(4):
        everything = client.get("/api/slots/").json()
    assert everything["count"] == 7 and "next" in everything
    assert [s["id"] for s in everything["results"]][0] == str(past.pk)

    def ids(query):
        response = client.get(f"/api/slots/?{query}")
        assert response.status_code == 200, response.json()
        return {s["id"] for s in response.json()["results"]}

    assert ids(f"coach={other_coach.pk}") == {str(s.pk) for s in theirs}
    assert ids("available=true") == {str(s.pk) for s in mine[1:] + theirs}
    assert ids("available=false") == {str(mine[0].pk), str(past.pk)}
    start = min(s.starts_at for s in mine + theirs)
    window = f"from={start.isoformat()}&to={(start + timedelta(minutes=1)).isoformat()}".replace("+", "%2B")
    assert len(ids(window)) == 1
    bad = client.get("/api/slots/?from=yesterday")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_filter"


def test_staff_grant_credits_and_the_athlete_reads_a_summing_ledger(staff, booker, slot):
    user, client = booker
    response = staff.post("/api/credits/grants/", {"athlete_id": str(user.athlete.pk), "amount": 3, "reason": "promo"})
    assert response.status_code == 201, response.json()
    assert response.json()["balance"] == 8
    booking_id = client.post("/api/bookings/", {"slot_id": str(slot.pk)}).json()["id"]
    client.post(f"/api/bookings/{booking_id}/cancel/")
    me = client.get("/api/credits/me/").json()
    assert me["balance"] == 8
    assert [t["kind"] for t in me["transactions"]] == ["refund", "debit", "grant", "grant"]
    assert sum(t["amount"] for t in me["transactions"]) == me["balance"]
    assert me["transactions"][1]["amount"] == -1 and me["transactions"][1]["booking_id"] == booking_id
    assert set(me["transactions"][0]) == {"id", "kind", "amount", "reason", "booking_id", "created_at"}


def test_an_athlete_without_an_account_has_zero_credits(db):
    _, client = ready_athlete(0)
    assert client.get("/api/credits/me/").json() == {"balance": 0, "transactions": []}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": 0}, 400, "invalid"),
        ({"amount": -5}, 400, "invalid"),
        ({"amount": "many"}, 400, "invalid"),
        ({"reason": ""}, 400, "invalid"),
        ({"athlete_id": "00000000-0000-0000-0000-000000000000"}, 404, "athlete_not_found"),
        ({"athlete_id": "x"}, 400, "invalid"),
    ],
)
def test_bad_grants_change_nothing(staff, booker, body, status, code):
    user, _ = booker
    full = {"athlete_id": str(user.athlete.pk), "amount": 2, "reason": "r"} | body
    response = staff.post("/api/credits/grants/", full)
    assert response.status_code == status and response.json()["code"] == code and response.json()["detail"]
    assert CreditAccount.objects.get(athlete=user.athlete).balance == 5
    assert CreditTransaction.objects.count() == 1


def test_only_staff_grant_and_only_athletes_have_a_credits_page(booker, coach, staff):
    user, client = booker
    body = {"athlete_id": str(user.athlete.pk), "amount": 100, "reason": "self-service"}
    assert client.post("/api/credits/grants/", body).status_code == 403
    assert coach.post("/api/credits/grants/", body).status_code == 403
    assert coach.get("/api/credits/me/").status_code == 403
    assert staff.get("/api/credits/me/").status_code == 403
    assert CreditAccount.objects.get(athlete=user.athlete).balance == 5


def test_the_ledger_is_append_only_and_the_balance_never_negative(booker):
    user, _ = booker
    with pytest.raises(ProgrammingError), transaction.atomic():
        CreditTransaction.objects.update(amount=500)
    with pytest.raises(ProgrammingError), transaction.atomic():
        CreditTransaction.objects.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.update(balance=-1)


def test_grant_credits_admin_action(staff_user, booker):
    from django.test import Client

    user, _ = booker
    staff_user.is_superuser = True
    staff_user.save()
    admin = Client()
    admin.force_login(staff_user)
    account = CreditAccount.objects.get(athlete=user.athlete)
    url = "/admin/bookings/creditaccount/"
    form = admin.post(url, {"action": "grant_credits", "_selected_action": [account.pk]})
    assert form.status_code == 200 and b"Grant credits" in form.content
    once = re.search(rb'name="once" value="([0-9a-f-]+)"', form.content).group(1).decode()
    grant = {"action": "grant_credits", "_selected_action": [account.pk], "apply": "1", "amount": 4, "reason": "gift"}
    done = admin.post(url, grant | {"once": once})
    assert done.status_code == 302
    account.refresh_from_db()
    assert account.balance == 9 and CreditTransaction.objects.filter(reason="gift", created_by=staff_user).exists()
    # the same form sent again (a double click, the browser's resend) grants nothing more
    again = admin.post(url, grant | {"once": once}, follow=True)
    assert b"already granted" in again.content
    account.refresh_from_db()
    assert account.balance == 9 and CreditTransaction.objects.filter(reason="gift").count() == 1
    # a form shown anew grants again
    fresh = admin.post(url, {"action": "grant_credits", "_selected_action": [account.pk]})
    assert once.encode() not in fresh.content
    # the account's page shows it, with nothing to save over the balance
    page = admin.get(f"{url}{account.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin.post(f"{url}{account.pk}/change/", {"athlete": user.athlete.pk}).status_code == 403
    account.refresh_from_db()
    assert account.balance == 9


def test_slot_lengths_count_real_hours_across_a_clock_change():
    # Times arrive in the platform's zone (forms, the API); in one zone Python subtracts
    # wall clocks, which was an hour off on the nights the clocks change.
    madrid = ZoneInfo("Europe/Madrid")
    now = datetime(2027, 1, 1, tzinfo=UTC)
    spring, autumn = datetime(2027, 3, 28, 0, 0, tzinfo=UTC), datetime(2027, 10, 31, 0, 0, tzinfo=UTC)
    local = [
        (start.astimezone(madrid), (start + length).astimezone(madrid))
        for start, length in (
            (spring, timedelta(hours=11, minutes=30)),  # 12 h 30 by the wall clock: allowed
            (autumn, timedelta(hours=12, minutes=30)),  # 11 h 30 by the wall clock: too long
        )
    ]
    services.check_slot_times(starts_at=local[0][0], ends_at=local[0][1], now=now)
    with pytest.raises(Invalid) as refused:
        services.check_slot_times(starts_at=local[1][0], ends_at=local[1][1], now=now)
    assert refused.value.code == "invalid_range"
