"""Round trips on the hot paths, pinned: a deterministic check where timing would not be.

Each count is the whole conversation with PostgreSQL, BEGIN and COMMIT included; a new
query on these paths is a regression to justify (and a figure to re-measure in bench/).
"""

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from onboarding.models import Onboarding
from tests.bookings.conftest import new_slot, ready_athlete
from tests.conftest import register_athlete
from tests.helpers import plans
from zea.errors import TransitionNotAllowed
from zea.workflows import engine, registry, status
from zea.workflows.models import AuditEvent, Timer

pytestmark = pytest.mark.django_db


def statements(captured) -> list[str]:
    return [query["sql"].split()[0].upper() for query in captured.captured_queries]


def test_a_step_is_a_locked_read_and_one_write():
    onboarding = register_athlete()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        moved = engine.transition(onboarding, "complete_profile", actor="user:1")
    # The lock, then the row, its event and its cancelled timers together.
    assert statements(captured) == ["SELECT", "WITH"]
    assert moved.state == Onboarding.State.COMPLETED
    event = AuditEvent.objects.get(execution_id=onboarding.pk, seq=moved.audit_seq)
    assert (event.transition, event.source, event.target) == ("complete_profile", "awaiting_profile", "completed")
    assert event.hash == Onboarding.objects.get(pk=onboarding.pk).audit_hash
    assert not Timer.objects.pending().filter(execution_id=onboarding.pk).exists()


def test_a_refused_step_writes_nothing():
    onboarding = register_athlete(complete=True)
    with CaptureQueriesContext(connection) as captured, pytest.raises(TransitionNotAllowed) as refused:
        with transaction.atomic():
            engine.transition(onboarding, "complete_profile", actor="user:1")
    assert refused.value.code == "transition_not_allowed"
    assert not [sql for sql in statements(captured) if sql in ("WITH", "UPDATE", "INSERT")]


def test_booking_over_the_api_is_five_round_trips(coach_obj):
    user, client = ready_athlete(3)
    slot = new_slot(coach_obj, price_credits=2)
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/bookings/", {"slot_id": str(slot.pk)})
    assert response.status_code == 201, response.json()
    assert response.json()["credits_remaining"] == 1
    # token + user + profiles, BEGIN, slot lock with its coach, the duplicate check and
    # the onboarding state, then one statement for place + debit + ledger, booking +
    # event, session + event and both emails, COMMIT.
    assert len(captured.captured_queries) == 5, "\n".join(q["sql"][:120] for q in captured.captured_queries)
    assert statements(captured)[3] == "WITH"
    slot.refresh_from_db()
    assert slot.booked_count == 1
    debit = user.athlete.credit_account.transactions.get(kind="debit")
    assert (debit.amount, str(debit.booking_id), debit.created_by_id) == (-2, response.json()["id"], user.pk)


def test_status_query_is_four_round_trips(staff):
    onboarding = register_athlete()
    with CaptureQueriesContext(connection) as captured:
        response = staff.get(f"/api/workflows/{onboarding.pk}/")
    assert response.status_code == 200
    assert response.json()["state"] == "awaiting_profile"
    assert len(captured.captured_queries) <= 4, "\n".join(q["sql"][:120] for q in captured.captured_queries)


def test_finding_an_execution_by_id_whatever_its_type(coach_obj):
    from zea.workflows.registry import find_execution

    onboarding = register_athlete()
    user, client = ready_athlete(1)
    booking_id = client.post("/api/bookings/", {"slot_id": str(new_slot(coach_obj).pk)}).json()["id"]
    found = find_execution(onboarding.pk)
    stored = Onboarding.objects.get(pk=onboarding.pk)
    assert found.workflow_type == "onboarding" and not found._state.adding
    assert {f.attname: getattr(found, f.attname) for f in Onboarding._meta.concrete_fields} == {
        f.attname: getattr(stored, f.attname) for f in Onboarding._meta.concrete_fields
    }
    # the earliest pending deadline timer, read with the row; None once none is pending
    deadline = Timer.objects.pending().filter(execution_id=onboarding.pk, is_deadline=True).get().due_at
    assert found.deadline == deadline
    Timer.objects.filter(execution_id=onboarding.pk).update(cancelled_at=deadline)
    assert find_execution(onboarding.pk).deadline is None
    assert find_execution(str(booking_id)).workflow_type == "booking"
    assert find_execution("00000000-0000-0000-0000-000000000000") is None
    assert find_execution("not-a-uuid") is None


def test_a_step_cancels_only_the_timers_it_names(coach_obj):
    from datetime import timedelta

    from django.utils import timezone

    from sessions.models import TrainingSession

    _, client = ready_athlete(1)
    booking_id = client.post("/api/bookings/", {"slot_id": str(new_slot(coach_obj).pk)}).json()["id"]
    session = TrainingSession.objects.get(booking_id=booking_id)
    later = timezone.now() + timedelta(days=9)
    now = timezone.now()
    recorded = engine.transition(
        session,
        "record_time",
        actor="user:1",
        args={"started_at": now - timedelta(hours=1), "ended_at": now, "payable_minutes": 60, "recorded_at": now},
        schedule=[engine.Schedule("first", later), engine.Schedule("second", later)],
    )
    with CaptureQueriesContext(connection) as captured:
        engine.transition(recorded, "open_reviews", actor="user:1", cancel=["first"])
    assert [sql for sql in statements(captured) if sql not in ("BEGIN", "COMMIT")] == ["SELECT", "WITH"]
    pending = set(Timer.objects.pending().filter(execution_id=session.pk).values_list("name", flat=True))
    assert pending == {"second"}
    assert Timer.objects.get(execution_id=session.pk, name="first").cancelled_at is not None


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_an_executions_timers_are_found_by_its_index_whatever_the_statistics():
    """The test database's tables were never analyzed: the state of a fresh deployment,
    where PostgreSQL would happily walk the due-date index of every pending timer to find
    one execution's. The step's cancel and the status query's deadline must not."""
    onboarding = register_athlete()
    Timer.objects.bulk_create(
        Timer(workflow_type="onboarding", execution_id=uuid.uuid4(), name="deadline", due_at=timezone.now())
        for _ in range(500)
    )
    cancel = _plan(engine._cancel_timers_sql(by_name=False), [timezone.now(), onboarding.pk])
    deadline = _plan(registry._row_sql(Onboarding), [onboarding.pk])
    for plan in (cancel, deadline):
        assert "timer_pending_due" not in plan and "workflows_timer_execution_id" in plan, plan
    with transaction.atomic():
        engine.transition(onboarding, "complete_profile", actor="user:1")
    assert not Timer.objects.pending().filter(execution_id=onboarding.pk).exists()
    assert Timer.objects.pending().count() == 500  # nobody else's


BACKLOG = 20_000


def _pending_backlog(count: int) -> None:
    """Other executions' pending timers, as after an outage, in a table never analyzed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO workflows_timer (workflow_type, execution_id, name, due_at, is_deadline, created_at, outcome)"
            " SELECT 'onboarding', gen_random_uuid(), 'deadline', now(), true, now(), '' FROM generate_series(1, %s)",
            [count],
        )


def test_many_executions_timers_are_cancelled_through_their_index_in_either_plan():
    """After an outage the sweeper expires executions a thousand at a time and cancels
    their timers in one statement. Prepared, its generic plan cannot hash the array of
    ids: walking the pending timers' due-date index then compared each with every id
    (0.3 s a batch among 100,000 pending timers, 3.3 s among a million)."""
    expiring = [register_athlete() for _ in range(3)]
    _pending_backlog(BACKLOG)
    ids = [onboarding.pk for onboarding in expiring]
    sql = engine._cancel_timers_sql(many=True)
    array = "'{" + ",".join(map(str, ids)) + "}'"
    found = plans(sql, [timezone.now(), ids], types=["timestamptz", "uuid[]"], literals=["now()", array])
    for kind, plan in found.items():
        assert "timer_pending_due" not in plan and "workflows_timer_execution_id" in plan, (kind, plan)
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), ids[:2]])
    assert not Timer.objects.pending().filter(execution_id__in=ids[:2]).exists()
    assert Timer.objects.pending().filter(execution_id=ids[2]).exists()
    assert Timer.objects.pending().count() == BACKLOG + Timer.objects.filter(execution_id=ids[2]).count()


def test_deadlines_are_read_through_the_execution_index_in_either_plan():
    """The status API reads each listed execution's deadline. Walking the due-date index
    of every pending timer instead took 69 ms for a page of 50 among 100,000 pending
    timers, in the generic plan a prepared statement switches to."""
    onboardings = [register_athlete() for _ in range(3)]
    _pending_backlog(BACKLOG)
    ids = [onboarding.pk for onboarding in onboardings]
    sql, params = status.pending_deadlines(ids).query.sql_with_params()
    types = ["boolean" if isinstance(p, bool) else "uuid" for p in params]
    literals = [str(p).lower() if isinstance(p, bool) else f"'{p}'" for p in params]
    for kind, plan in plans(sql, list(params), types=types, literals=literals).items():
        assert "timer_pending_due" not in plan and "workflows_timer_execution_id" in plan, (kind, plan)
    expected = {o.pk: Timer.objects.get(execution_id=o.pk, name="deadline").due_at for o in onboardings}
    assert status.deadlines_of(ids) == expected
    assert status.deadline_of(ids[0]) == expected[ids[0]]


def test_a_connection_prepares_the_statements_it_repeats(coach_obj):
    """PostgreSQL parses and plans a hot statement once per connection, not per request:
    the booking's own statements are among the connection's prepared ones."""
    _, client = ready_athlete(10)
    for _ in range(6):
        response = client.post("/api/bookings/", {"slot_id": str(new_slot(coach_obj).pk)})
        assert response.status_code == 201, response.json()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("FOR UPDATE OF s" in statement for statement in prepared), prepared  # the slot lock
    assert any("bookings_booking" in statement and "INSERT" in statement for statement in prepared), prepared
