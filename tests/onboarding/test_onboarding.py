"""Athlete onboarding: register, complete the profile within the deadline, or expire."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from onboarding import services
from onboarding.models import Onboarding
from tests.conftest import PASSWORD, PROFILE, client_for, register_athlete
from tests.helpers import race
from zea.accounts.models import Athlete, User
from zea.errors import DomainError
from zea.workflows import sweeper, timers
from zea.workflows.models import AuditEvent, OutboxMessage, Timer

pytestmark = pytest.mark.django_db

REGISTRATION = {"email": "nadia@example.com", "password": PASSWORD, "first_name": "Nadia", "last_name": "Núñez"}


def test_register_starts_the_onboarding_with_a_deadline_and_a_token(anon):
    started = timezone.now()
    response = anon.post("/api/onboarding/register/", REGISTRATION)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "awaiting_profile"
    onboarding = Onboarding.objects.get(pk=body["execution_id"])
    assert str(onboarding.athlete_id) == body["athlete_id"]
    deadline = Timer.objects.get(execution_id=onboarding.pk, name="deadline").due_at
    assert timedelta(days=7) <= deadline - started <= timedelta(days=7, seconds=5)
    assert body["deadline"].startswith(deadline.isoformat()[:19].replace("+00:00", ""))
    anon.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    me = anon.get("/api/onboarding/me/").json()
    assert me["state"] == "awaiting_profile" and me["missing_fields"] == list(PROFILE)
    assert OutboxMessage.objects.filter(execution_id=onboarding.pk, template="onboarding/email/welcome").count() == 1


def test_complete_profile_completes_the_onboarding_and_cancels_its_timers(athlete, onboarding):
    response = athlete.put("/api/athletes/me/profile/", PROFILE)
    assert response.status_code == 200, response.json()
    assert response.json()["onboarding"]["state"] == "completed"
    assert response.json()["missing_fields"] == []
    assert Onboarding.objects.get(pk=onboarding.pk).state == "completed"
    assert not Timer.objects.pending().filter(execution_id=onboarding.pk).exists()
    assert athlete.get("/api/onboarding/me/").json() == {
        "execution_id": str(onboarding.pk),
        "state": "completed",
        "deadline": None,
        "missing_fields": [],
    }


def test_later_profile_edits_change_no_workflow(athlete, onboarding):
    athlete.put("/api/athletes/me/profile/", PROFILE)
    response = athlete.put("/api/athletes/me/profile/", PROFILE | {"sport": "swimming"})
    assert response.status_code == 200 and response.json()["sport"] == "swimming"
    assert AuditEvent.objects.filter(execution_id=onboarding.pk).count() == 2


def test_no_profile_by_the_deadline_expires_and_the_token_stops_working(athlete, onboarding):
    with time_machine.travel(timezone.now() + timedelta(days=7, seconds=1), tick=False):
        sweeper.sweep()
    assert Onboarding.objects.get(pk=onboarding.pk).state == "expired"
    assert User.objects.get(pk=onboarding.athlete.user_id).is_active is False
    assert AuditEvent.objects.filter(execution_id=onboarding.pk, target="expired").count() == 1
    response = athlete.get("/api/onboarding/me/")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_a_profile_sent_past_the_deadline_is_refused_before_the_timer_fires(athlete, onboarding):
    deadline = Timer.objects.get(execution_id=onboarding.pk, name="deadline").due_at
    with time_machine.travel(deadline + timedelta(minutes=5), tick=False):  # no sweep yet
        response = athlete.put("/api/athletes/me/profile/", PROFILE)
    assert response.status_code == 409 and response.json()["code"] == "onboarding_expired"
    assert Onboarding.objects.get(pk=onboarding.pk).state == "awaiting_profile"  # the timer expires it
    assert not Athlete.objects.get(pk=onboarding.athlete_id).sport  # nothing saved
    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        assert athlete.put("/api/athletes/me/profile/", PROFILE).status_code == 200
    assert Onboarding.objects.get(pk=onboarding.pk).state == "completed"


def test_reminders_go_out_at_half_time_and_a_day_before_then_stop(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    start = timezone.now()
    onboarding = register_athlete()

    def reminders_sent_by(moment):
        with time_machine.travel(moment, tick=False):
            sweeper.sweep()
        return OutboxMessage.objects.filter(execution_id=onboarding.pk, template="onboarding/email/reminder").count()

    assert reminders_sent_by(start + timedelta(days=3, hours=11)) == 0
    assert reminders_sent_by(start + timedelta(days=3, hours=12, seconds=1)) == 1
    assert reminders_sent_by(start + timedelta(days=5, hours=23)) == 1
    assert reminders_sent_by(start + timedelta(days=6, seconds=1)) == 2


def test_no_reminder_after_completion():
    onboarding = register_athlete(complete=True)
    with time_machine.travel(timezone.now() + timedelta(days=10), tick=False):
        sweeper.sweep()
    assert not OutboxMessage.objects.filter(execution_id=onboarding.pk, template="onboarding/email/reminder").exists()


def test_no_reminder_when_the_deadline_is_too_close(settings):
    settings.ZEA_ONBOARDING_TIMEOUT = timedelta(hours=12)
    onboarding = register_athlete()
    names = set(Timer.objects.filter(execution_id=onboarding.pk).values_list("name", flat=True))
    assert names == {"deadline", "reminder:1"}  # 50% only: "1 day before" is already past


def test_staff_reopen_gives_a_new_deadline_and_reactivates(athlete, onboarding, staff_user):
    with time_machine.travel(timezone.now() + timedelta(days=8), tick=False):
        sweeper.sweep()
        services.reopen(Onboarding.objects.get(pk=onboarding.pk), actor=f"user:{staff_user.pk}")
        reopened_at = timezone.now()
    row = Onboarding.objects.get(pk=onboarding.pk)
    assert row.state == "awaiting_profile"
    assert User.objects.get(pk=onboarding.athlete.user_id).is_active
    deadline = Timer.objects.pending().get(execution_id=onboarding.pk, name="deadline")
    assert deadline.due_at == reopened_at + timedelta(days=7)
    last = AuditEvent.objects.filter(execution_id=onboarding.pk).order_by("-seq").first()
    assert (last.transition, last.actor) == ("reopen", f"user:{staff_user.pk}")
    assert athlete.put("/api/athletes/me/profile/", PROFILE).json()["onboarding"]["state"] == "completed"


def _race_profile_against_deadline():
    """Release a profile completion and the deadline timer together; return the onboarding."""
    onboarding = register_athlete()
    deadline = Timer.objects.get(execution_id=onboarding.pk, name="deadline")
    completed, fired = race(
        lambda: services.update_profile(user=onboarding.athlete.user, **PROFILE),
        lambda: timers.fire(deadline.pk, now=deadline.due_at),
    )
    assert fired is None, fired
    deadline.refresh_from_db()
    return onboarding, deadline, [completed.code] if isinstance(completed, DomainError) else []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(6))
def test_completing_as_the_timer_fires_leaves_one_consistent_outcome(attempt):
    onboarding, deadline, refusals = _race_profile_against_deadline()
    row = Onboarding.objects.get(pk=onboarding.pk)
    events = list(AuditEvent.objects.filter(execution_id=onboarding.pk).order_by("seq"))
    assert [e.target for e in events] == ["awaiting_profile", row.state]
    user = User.objects.get(pk=onboarding.athlete.user_id)
    if row.state == "completed":
        assert not refusals and deadline.cancelled_at is not None and deadline.fired_at is None
        assert user.is_active
    else:
        assert row.state == "expired" and refusals == ["onboarding_expired"]
        assert deadline.fired_at is not None and not user.is_active


# --- bad input and other users ------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        # valid as an address, longer than the login (username) holds
        ({"email": "a" * 140 + "@example.com"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "password123"}, "password"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": "x" * 200}, "last_name"),
    ],
)
def test_bad_registration_is_400_with_field_errors_and_creates_nothing(anon, overrides, field):
    response = anon.post("/api/onboarding/register/", REGISTRATION | overrides)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["detail"] and field in body["errors"]
    assert not User.objects.exists() and not Onboarding.objects.exists()


def test_registering_a_taken_email_is_409(anon):
    assert anon.post("/api/onboarding/register/", REGISTRATION).status_code == 201
    response = anon.post("/api/onboarding/register/", REGISTRATION | {"email": "NADIA@example.com"})
    assert response.status_code == 409 and response.json()["code"] == "email_taken"
    assert Onboarding.objects.count() == 1


def test_malformed_json_is_400(anon):
    response = anon.post("/api/onboarding/register/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1800-01-01"}, "date_of_birth"),
        ({"date_of_birth": "2001-02-30"}, "date_of_birth"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "123"}, "phone"),
        ({"emergency_contact_phone": "+34 6" + "0" * 30}, "emergency_contact_phone"),
        ({"sport": ""}, "sport"),
    ],
)
def test_bad_profile_is_400_and_changes_nothing(athlete, onboarding, overrides, field):
    response = athlete.put("/api/athletes/me/profile/", PROFILE | overrides)
    assert response.status_code == 400
    assert field in response.json()["errors"] and response.json()["detail"]
    onboarding.athlete.refresh_from_db()
    assert onboarding.athlete.missing_fields == list(PROFILE)
    assert Onboarding.objects.get(pk=onboarding.pk).state == "awaiting_profile"


def test_a_missing_field_is_400(athlete):
    partial = {k: v for k, v in PROFILE.items() if k != "phone"}
    response = athlete.put("/api/athletes/me/profile/", partial)
    assert response.status_code == 400 and "phone" in response.json()["errors"]


def test_onboarding_endpoints_need_an_athlete(anon, coach, staff):
    for client, status in ((anon, 401), (coach, 403), (staff, 403)):
        assert client.get("/api/onboarding/me/").status_code == status
        response = client.put("/api/athletes/me/profile/", PROFILE)
        assert response.status_code == status and "code" in response.json()


def test_each_athlete_sees_and_edits_only_their_own(onboarding, other_athlete):
    other_athlete.put("/api/athletes/me/profile/", PROFILE)
    onboarding.athlete.refresh_from_db()
    assert onboarding.athlete.missing_fields == list(PROFILE)
    assert other_athlete.get("/api/onboarding/me/").json()["execution_id"] != str(onboarding.pk)


def test_registration_is_throttled(anon, settings):
    from django.core.cache import cache

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"register": "2/min", "login": "5/min"},
    }
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        codes = [
            anon.post("/api/onboarding/register/", REGISTRATION | {"email": f"t{i}@example.com"}).status_code
            for i in range(3)
        ]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert codes == [201, 201, 429]


def test_the_welcome_email_names_the_deadline(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from zea.workflows import outbox

    onboarding = register_athlete()
    message = OutboxMessage.objects.get(execution_id=onboarding.pk)
    outbox.deliver(message.pk)
    assert mail.outbox[0].to == [onboarding.athlete.user.email]
    deadline = Timer.objects.get(execution_id=onboarding.pk, name="deadline").due_at
    assert deadline.isoformat() in mail.outbox[0].body


def test_a_client_for_an_expired_athlete_is_refused(onboarding):
    User.objects.filter(pk=onboarding.athlete.user_id).update(is_active=False)
    assert client_for(onboarding.athlete.user).get("/api/onboarding/me/").status_code == 401
