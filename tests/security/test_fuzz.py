"""Hostile input: property-based requests generated from our own OpenAPI schema, as each
role, valid and invalid. Nothing may answer 5xx; every 4xx is JSON with code and detail."""

import uuid
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

from tests.conftest import client_for
from tests.security.test_authorization_matrix import World

pytestmark = pytest.mark.django_db

EXAMPLES = 12


def _schema():
    from rest_framework.test import APIClient

    raw = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    return schemathesis.openapi.from_dict(raw)


def _operations():
    import django

    django.setup()
    return [result.ok() for result in _schema().get_all_operations()]


@pytest.fixture(scope="module")
def operations(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return {f"{op.method.upper()} {op.path}": op for op in _operations()}


OPERATION_NAMES = [
    "GET /api/workflows/",
    "GET /api/workflows/{execution_id}/",
    "POST /api/auth/token/",
    "GET /api/me/",
    "PATCH /api/me/",
    "POST /api/coaches/",
    "POST /api/onboarding/register/",
    "GET /api/onboarding/me/",
    "GET /api/athletes/me/profile/",
    "PUT /api/athletes/me/profile/",
    "GET /api/slots/",
    "POST /api/slots/",
    "POST /api/credits/grants/",
    "GET /api/credits/me/",
    "GET /api/bookings/",
    "POST /api/bookings/",
    "GET /api/bookings/{booking_id}/",
    "POST /api/bookings/{booking_id}/cancel/",
    "GET /api/sessions/",
    "GET /api/sessions/{session_id}/",
    "POST /api/sessions/{session_id}/record-time/",
    "POST /api/sessions/{session_id}/feedback/",
    "POST /api/sessions/{session_id}/evaluation/",
    "GET /api/payroll/reports/",
    "POST /api/payroll/reports/",
    "GET /api/payroll/reports/{report_id}/",
    "GET /api/payroll/reports/{report_id}/csv/",
]


def test_the_fuzzed_operations_are_all_the_schema_has(operations):
    documented = {name for name in operations if name not in ("GET /api/schema/",)}
    assert documented == set(OPERATION_NAMES)


def _send(client, case):
    query = "?" + urlencode(case.query, doseq=True) if case.query else ""
    method = getattr(client, case.method.lower())
    if case.method.upper() in ("POST", "PUT", "PATCH"):
        body = None if case.body is NOT_SET else case.body
        if isinstance(body, str | bytes):  # raw payloads, possibly not JSON at all
            raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
            content_type = case.media_type or "application/octet-stream"
            return client.generic(case.method.upper(), case.formatted_path + query, raw, content_type=content_type)
        return method(case.formatted_path + query, body, format="json")
    return method(case.formatted_path + query)


def _assert_sane(response, case):
    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.content[:300])
    if response.status_code >= 400:
        payload = response.json()
        assert payload.get("code") and payload.get("detail"), (case.formatted_path, payload)


@pytest.mark.parametrize("name", OPERATION_NAMES)
@pytest.mark.parametrize("role", ["anonymous", "athlete", "coach", "staff"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_breaks_the_api(operations, name, role, mode):
    world = World()
    client = client_for(world.user(role))
    operation = operations[name]
    real_ids = {
        "execution_id": str(world.booking_id),
        "booking_id": str(world.booking_id),
        "session_id": str(world.recorded_id),
        "report_id": str(world.report_id),
    }
    params = {
        p: real_ids[p] for p in ("execution_id", "booking_id", "session_id", "report_id") if "{" + p + "}" in name
    }

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=params or None), real=st.booleans())
    def run(case, real):
        if not real and params:
            case.path_parameters = {key: str(uuid.uuid4()) for key in params}
        _assert_sane(_send(client, case), case)

    try:
        run()
    except Unsatisfiable:
        # Only a path parameter to break, and schemathesis keeps paths routable.
        pytest.skip("no invalid request can be generated for this operation")


# --- hand-made hostility --------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("application/json", "{not json", 400, "parse_error"),
        ("application/json", '{"email": "a@b.c", "password": ', 400, "parse_error"),
        ("text/plain", "email=a@b.c", 415, "unsupported_media_type"),
        ("application/xml", "<x/>", 415, "unsupported_media_type"),
        ("application/json", '["a", "list"]', 400, "invalid"),
        ("application/json", "null", 400, "invalid"),
        (
            "application/json",
            '{"email": "\\u0000@x.io", "password": "x", "first_name": "a", "last_name": "b"}',
            400,
            "invalid",
        ),
    ],
)
def test_malformed_bodies_and_wrong_content_types(anon, content_type, body, status, code):
    response = anon.generic("POST", "/api/onboarding/register/", body, content_type=content_type)
    assert response.status_code == status, response.content[:200]
    assert response.json()["code"] == code and response.json()["detail"]


def test_a_form_or_an_upload_is_415_and_creates_nothing(staff, athlete_user):
    # With an Idempotency-Key too: the key's fingerprint is of a JSON body, never of a file.
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bookings.models import CreditTransaction, IdempotencyKey

    fields = {"athlete_id": str(athlete_user.athlete.pk), "amount": "3", "reason": "x"}
    for body in (fields, fields | {"receipt": SimpleUploadedFile("r.txt", b"paid")}):
        response = staff.post("/api/credits/grants/", body, format="multipart", headers={"Idempotency-Key": "k1"})
        assert response.status_code == 415, response.content[:200]
        assert response.json()["code"] == "unsupported_media_type" and response.json()["detail"]
    response = staff.generic(
        "POST", "/api/credits/grants/", "athlete_id=x&amount=3", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"
    assert not CreditTransaction.objects.exists() and not IdempotencyKey.objects.exists()


def test_a_huge_body_is_refused_cleanly(anon):
    body = '{"email": "' + "a" * (3 * 1024 * 1024) + '@x.io"}'
    response = anon.generic("POST", "/api/onboarding/register/", body, content_type="application/json")
    assert response.status_code in (400, 413)
    assert response.json()["code"] and response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"athlete_id": "not-a-uuid", "amount": 1, "reason": "x"},
        {"amount": -5, "reason": "x"},
        {"amount": 10**12, "reason": "x"},
        {"amount": 1.5, "reason": "x"},
        {"amount": "1e9", "reason": "x"},
        {"amount": 1, "reason": "🏃" * 10_000},
    ],
)
def test_out_of_range_and_negative_amounts(staff, athlete_user, body):
    from bookings.models import CreditTransaction

    response = staff.post("/api/credits/grants/", {"athlete_id": str(athlete_user.athlete.pk)} | body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert not CreditTransaction.objects.exists()


@pytest.mark.parametrize(
    "params",
    ["from=yesterday", "to=2026-13-45T99:00", "available=perhaps", "coach=not-a-uuid", "page=-1", "page=99999"],
)
def test_bad_list_filters_are_4xx_json(athlete, params):
    response = athlete.get(f"/api/slots/?{params}")
    assert 400 <= response.status_code < 500
    assert response.json()["code"] and response.json()["detail"]
