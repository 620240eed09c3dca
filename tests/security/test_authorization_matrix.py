"""Every endpoint × every role, generated from the URL conf: a new endpoint without a row
here fails the suite. No cell may leak another party's data."""

import itertools
import json
from datetime import timedelta

import pytest
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from bookings import services as bookings
from payroll import services as payroll
from sessions import services as sessions
from tests.bookings.conftest import new_slot, ready_athlete
from tests.conftest import PASSWORD, PROFILE, client_for, unique_email
from tests.sessions.conftest import times
from zea.accounts.models import User
from zea.accounts.services import create_coach

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "athlete", "other_athlete", "coach", "other_coach", "staff")
_n = itertools.count()


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif getattr(pattern.callback, "view_class", None):
            view = pattern.callback.view_class
            for method in ("get", "post", "put", "patch", "delete"):
                if hasattr(view, method):
                    yield prefix + str(pattern.pattern), method


def api_endpoints():
    return sorted(e for e in _walk(get_resolver().url_patterns) if e[0].startswith("api/"))


class World:
    """Athlete A booked coach C's slot (session S scheduled) and another (session R,
    time recorded, reviews open); B and D are another athlete and coach."""

    def __init__(self):
        self.athlete_user, _ = ready_athlete(5)
        self.other_athlete_user, _ = ready_athlete(5)
        self.coach = create_coach(
            email=unique_email("coach"), password=PASSWORD, first_name="C", last_name="C", hourly_rate="30"
        )
        self.other_coach = create_coach(
            email=unique_email("coach"), password=PASSWORD, first_name="D", last_name="D", hourly_rate="30"
        )
        self.staff_user = User.objects.create_user(
            username=unique_email("staff"), email=unique_email("staff"), password=PASSWORD, is_staff=True
        )
        soon = new_slot(self.coach, start_in=timedelta(hours=5))
        booked = bookings.book_slot(user=self.athlete_user, slot_id=soon.pk)
        self.booking_id, self.session_id = booked.booking.pk, booked.session_id
        recorded = bookings.book_slot(
            user=self.athlete_user, slot_id=new_slot(self.coach, start_in=timedelta(hours=2)).pk
        )
        self.recorded_id = recorded.session_id
        session = sessions.session_for(self.coach.user, self.recorded_id, as_coach=True)
        started_at, ended_at = times()
        sessions.record_time(session=session, started_at=started_at, ended_at=ended_at, actor="user:0")
        for kind in ("feedback", "evaluation"):
            sessions.open_review(self.recorded_id, kind)
        self.free_slot = new_slot(self.coach, start_in=timedelta(days=5))
        month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
        report, _ = payroll.request_report(month=month, actor="user:0")
        payroll.generate(report.pk)
        self.report_id = report.pk
        self.secrets = [
            self.athlete_user.email,
            str(self.athlete_user.athlete.pk),
            str(self.booking_id),
            str(self.session_id),
            str(self.recorded_id),
        ]

    def user(self, role):
        return {
            "anonymous": None,
            "athlete": self.athlete_user,
            "other_athlete": self.other_athlete_user,
            "coach": self.coach.user,
            "other_coach": self.other_coach.user,
            "staff": self.staff_user,
        }[role]

    def path(self, template):
        return "/" + (
            template.replace("<uuid:execution_id>", str(self.booking_id))
            .replace("<uuid:booking_id>", str(self.booking_id))
            .replace("<uuid:session_id>", str(self.recorded_id if "record-time" not in template else self.session_id))
            .replace("<uuid:report_id>", str(self.report_id))
        )


def _record_body(world):
    started_at, ended_at = times()
    return {"started_at": started_at.isoformat(), "ended_at": ended_at.isoformat()}


BODIES = {
    "api/auth/token/": lambda w: {"username": w.athlete_user.email, "password": PASSWORD},
    "api/coaches/": lambda w: {
        "email": unique_email("new-coach"),
        "password": PASSWORD,
        "first_name": "N",
        "last_name": "C",
        "hourly_rate": "20.00",
    },
    "api/onboarding/register/": lambda w: {
        "email": unique_email("reg"),
        "password": PASSWORD,
        "first_name": "R",
        "last_name": "R",
    },
    "api/athletes/me/profile/": lambda w: PROFILE,
    "api/slots/": lambda w: {
        "coach_id": str(w.coach.pk),
        "starts_at": (timezone.now() + timedelta(days=9, hours=next(_n))).isoformat(),
        "ends_at": (timezone.now() + timedelta(days=9, hours=next(_n), minutes=1)).isoformat(),
    },
    "api/credits/grants/": lambda w: {"athlete_id": str(w.athlete_user.athlete.pk), "amount": 1, "reason": "t"},
    "api/bookings/": lambda w: {"slot_id": str(w.free_slot.pk)},
    "api/sessions/<uuid:session_id>/record-time/": _record_body,
    "api/sessions/<uuid:session_id>/feedback/": lambda w: {"rating": 4},
    "api/sessions/<uuid:session_id>/evaluation/": lambda w: {"rating": 4},
    "api/payroll/reports/": lambda w: {"month": "2026-01"},
}

A, OA, C, OC, S = "athlete", "other_athlete", "coach", "other_coach", "staff"


def row(anonymous, athlete, other_athlete, coach, other_coach, staff):
    return dict(zip(ROLES, (anonymous, athlete, other_athlete, coach, other_coach, staff), strict=True))


PUBLIC = row(200, 200, 200, 200, 200, 200)
STAFF_ONLY = row(401, 403, 403, 403, 403, 200)
ATHLETE_SELF = row(401, 200, 200, 403, 403, 403)

EXPECTED = {
    ("api/auth/token/", "post"): PUBLIC,
    ("api/me/", "get"): row(401, 200, 200, 200, 200, 200),
    ("api/me/", "patch"): row(401, 200, 200, 200, 200, 200),
    ("api/coaches/", "post"): row(401, 403, 403, 403, 403, 201),
    ("api/workflows/", "get"): STAFF_ONLY,
    ("api/workflows/<uuid:execution_id>/", "get"): row(401, 200, 404, 200, 404, 200),
    ("api/onboarding/register/", "post"): row(201, 201, 201, 201, 201, 201),
    ("api/onboarding/me/", "get"): ATHLETE_SELF,
    ("api/athletes/me/profile/", "get"): ATHLETE_SELF,
    ("api/athletes/me/profile/", "put"): ATHLETE_SELF,
    ("api/slots/", "get"): row(401, 200, 200, 200, 200, 200),
    ("api/slots/", "post"): row(401, 403, 403, 201, 403, 201),
    ("api/credits/grants/", "post"): row(401, 403, 403, 403, 403, 201),
    ("api/credits/me/", "get"): ATHLETE_SELF,
    ("api/bookings/", "get"): row(401, 200, 200, 200, 200, 200),
    ("api/bookings/", "post"): row(401, 201, 201, 403, 403, 403),
    ("api/bookings/<uuid:booking_id>/", "get"): row(401, 200, 404, 200, 404, 200),
    ("api/bookings/<uuid:booking_id>/cancel/", "post"): row(401, 200, 404, 403, 404, 200),
    ("api/sessions/", "get"): row(401, 200, 200, 200, 200, 200),
    ("api/sessions/<uuid:session_id>/", "get"): row(401, 200, 404, 200, 404, 200),
    ("api/sessions/<uuid:session_id>/record-time/", "post"): row(401, 403, 403, 200, 404, 403),
    ("api/sessions/<uuid:session_id>/feedback/", "post"): row(401, 200, 404, 403, 403, 403),
    ("api/sessions/<uuid:session_id>/evaluation/", "post"): row(401, 403, 403, 200, 404, 403),
    ("api/payroll/reports/", "get"): STAFF_ONLY,
    ("api/payroll/reports/", "post"): row(401, 403, 403, 403, 403, 202),
    ("api/payroll/reports/<uuid:report_id>/", "get"): STAFF_ONLY,
    ("api/payroll/reports/<uuid:report_id>/csv/", "get"): STAFF_ONLY,
    ("api/schema/", "get"): PUBLIC,
    ("api/docs/", "get"): PUBLIC,
}


def test_every_endpoint_has_a_row_in_the_matrix():
    missing = [e for e in api_endpoints() if e not in EXPECTED]
    stale = [e for e in EXPECTED if e not in api_endpoints()]
    assert not missing, f"add these endpoints to EXPECTED: {missing}"
    assert not stale, f"these rows name no endpoint any more: {stale}"


@pytest.mark.parametrize(("template", "method"), sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(template, method, role):
    world = World()
    client = client_for(world.user(role))
    body = BODIES.get(template, lambda w: None)(world) if method in ("post", "put") else None
    response = getattr(client, method)(world.path(template), body, format="json")
    expected = EXPECTED[(template, method)][role]
    assert response.status_code == expected, (role, template, method, response.content[:300])
    if response.status_code >= 400:
        payload = response.json()
        assert payload["code"] and payload["detail"]
    if role in ("anonymous", "other_athlete", "other_coach") and template != "api/auth/token/":
        text = response.content.decode(errors="replace")
        if template in ("api/schema/", "api/docs/"):
            return
        leaked = [secret for secret in world.secrets if secret in text]
        assert not leaked, f"{role} saw {leaked} at {method.upper()} {template}"
    if response.status_code < 300 and "json" in response.get("Content-Type", ""):
        json.loads(response.content)
