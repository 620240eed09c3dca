"""The operator surface: timelines for parties and staff, the list for staff."""

import uuid
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import PROFILE, register_athlete
from zea.workflows.models import AuditEvent
from zea.workflows.status import TIMELINE_FIELDS

pytestmark = pytest.mark.django_db


def test_an_athlete_reads_the_timeline_of_its_onboarding(athlete, onboarding):
    athlete.put("/api/athletes/me/profile/", PROFILE)
    response = athlete.get(f"/api/workflows/{onboarding.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "onboarding" and body["state"] == "completed" and body["deadline"] is None
    assert [(e["seq"], e["transition"], e["source"], e["target"]) for e in body["events"]] == [
        (1, "start", "", "awaiting_profile"),
        (2, "complete_profile", "awaiting_profile", "completed"),
    ]
    assert all(e["actor"] == f"user:{onboarding.athlete.user_id}" for e in body["events"])
    # exactly the timeline's fields (no hash, no data), each event at its stored time
    stored = AuditEvent.objects.filter(execution_id=onboarding.pk).order_by("seq")
    assert all(set(e) == set(TIMELINE_FIELDS) for e in body["events"])
    assert [datetime.fromisoformat(e["at"]) for e in body["events"]] == [event.at for event in stored]


def test_staff_read_any_timeline(staff, onboarding):
    response = staff.get(f"/api/workflows/{onboarding.pk}/")
    assert response.status_code == 200 and response.json()["deadline"] is not None


def test_other_users_get_nothing_about_a_workflow(onboarding, other_athlete, coach, anon):
    for client in (other_athlete, coach):
        response = client.get(f"/api/workflows/{onboarding.pk}/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found" and str(onboarding.pk) not in response.content.decode()
    assert anon.get(f"/api/workflows/{onboarding.pk}/").status_code == 401


def test_unknown_and_malformed_ids_are_json_404(staff):
    assert staff.get(f"/api/workflows/{uuid.uuid4()}/").json()["code"] == "not_found"
    response = staff.get("/api/workflows/not-a-uuid/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_staff_list_workflows_with_filters(staff):
    done = register_athlete(complete=True)
    waiting = register_athlete()
    late = register_athlete()
    body = staff.get("/api/workflows/").json()
    assert body["count"] == 3 and {"results", "next", "previous"} <= body.keys()
    ids = lambda response: {row["execution_id"] for row in response.json()["results"]}  # noqa: E731
    assert ids(staff.get("/api/workflows/?type=onboarding&state=completed")) == {str(done.pk)}
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1), tick=False):
        assert ids(staff.get("/api/workflows/?overdue=true")) == {str(waiting.pk), str(late.pk)}
        assert ids(staff.get("/api/workflows/?overdue=false")) == {str(done.pk)}
    row = next(r for r in staff.get("/api/workflows/?state=awaiting_profile").json()["results"])
    assert row["deadline"] is not None and row["type"] == "onboarding"


@pytest.mark.parametrize("query", ["type=nope", "overdue=maybe"])
def test_bad_filters_are_400(staff, query):
    response = staff.get(f"/api/workflows/?{query}")
    assert response.status_code == 400 and response.json()["code"] == "invalid_filter"


def test_only_staff_list_workflows(athlete, coach, anon):
    assert anon.get("/api/workflows/").status_code == 401
    for client in (athlete, coach):
        assert client.get("/api/workflows/").status_code == 403


def test_status_command_counts_per_state(capsys):
    register_athlete(complete=True)
    register_athlete()
    call_command("zea", "status", "--json")
    import json

    snap = json.loads(capsys.readouterr().out)
    assert snap["workflows"]["onboarding"] == {"awaiting_profile": 1, "completed": 1, "expired": 0}
    assert snap["timers"]["pending"] == 3 and snap["outbox"]["pending"] == 2
    call_command("zea", "status")
    assert "awaiting_profile=1" in capsys.readouterr().out
