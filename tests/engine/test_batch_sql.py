"""The engine's hand-written SQL reads and writes exactly what the ORM would.

`engine.lock` (every step), `engine.copy_rows` (the sweeper's bulk writes) and the
`__any` lookup replace ORM calls on the hot and batch paths for speed; these tests hold
them to the ORM's results, including the awkward values (JSON, quotes, NULLs).
"""

import datetime
import uuid
import warnings

import psycopg
import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from onboarding.models import Onboarding
from payroll.models import PayrollReport
from tests.conftest import register_athlete
from zea.workflows import audit, engine
from zea.workflows.models import AuditEvent, OutboxMessage, Timer

AWKWARD = 'tab\t, "q", back\\slash, nl\n, {b}, a,c, NULL, \\N, ünï'

pytestmark = pytest.mark.django_db


def field_values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def new_report() -> PayrollReport:
    return PayrollReport.objects.create(
        month=datetime.date(2026, 10, 1),
        time_zone="Europe/Madrid",
        totals=[{"coach": AWKWARD, "minutes": 90}],
        rates={"7": "25.50", "nested": {"list": [1, None, True]}},
        generated_at=timezone.now(),
    )


def test_lock_reads_a_row_as_the_orm_would():
    report, onboarding = new_report(), register_athlete()
    with transaction.atomic():
        for row in (report, onboarding):
            locked = engine.lock(type(row), row.pk)
            assert field_values(locked) == field_values(type(row).objects.get(pk=row.pk))
            assert not locked._state.adding and locked._state.db == "default"
        assert engine.lock(Onboarding, uuid.uuid4()) is None
    assert isinstance(field_values(locked)["updated_at"], datetime.datetime)
    assert engine.lock(PayrollReport, report.pk, skip_locked=True).totals[0]["coach"] == AWKWARD


@pytest.mark.django_db(transaction=True)
def test_lock_with_skip_locked_passes_over_a_row_someone_holds():
    onboarding = register_athlete()
    other = psycopg.connect(dbname=connection.settings_dict["NAME"])
    try:
        other.execute("SELECT 1 FROM onboarding_onboarding WHERE execution_id = %s FOR UPDATE", [onboarding.pk])
        with transaction.atomic():
            assert engine.lock(Onboarding, onboarding.pk, skip_locked=True) is None
        other.rollback()
        with transaction.atomic():
            assert engine.lock(Onboarding, onboarding.pk, skip_locked=True).pk == onboarding.pk
    finally:
        other.close()


def test_copy_rows_writes_what_bulk_create_would_and_hands_back_ids():
    onboarding = register_athlete()
    now = timezone.now()
    rows = [
        OutboxMessage(
            template="onboarding/email/expired",
            to=[f"a{i}@x.io"],
            context={"first_name": AWKWARD, "n": i, "none": None},
            language="es" if i else "",
            workflow_type="onboarding",
            execution_id=onboarding.pk if i else None,
            next_attempt_at=now,
        )
        for i in range(3)
    ]
    with transaction.atomic():
        engine.copy_rows(OutboxMessage, rows, with_ids=True)
    assert all(row.pk and not row._state.adding for row in rows)
    for row in rows:
        stored = OutboxMessage.objects.get(pk=row.pk)
        assert field_values(stored) == field_values(row)
        assert stored.created_at is not None  # auto_now_add, as save() would set it
    assert stored.context["first_name"] == AWKWARD and stored.execution_id == onboarding.pk
    assert OutboxMessage.objects.get(pk=rows[0].pk).execution_id is None


def test_copied_audit_events_keep_the_chain_verifiable():
    onboarding = register_athlete()
    with transaction.atomic():
        locked = engine.lock(Onboarding, onboarding.pk)
        locked.expire()
        event = audit.new_event(
            locked, transition="expire", source="awaiting_profile", target="expired", actor="t", data={"x": AWKWARD}
        )
        engine.copy_rows(AuditEvent, [event])
        engine._execute_together([engine._update_sql(locked)])
    stored = AuditEvent.objects.get(execution_id=onboarding.pk, seq=event.seq)
    assert (stored.data, stored.hash) == ({"x": AWKWARD}, event.hash)
    assert audit.replay(Onboarding.objects.get(pk=onboarding.pk)).problems == []


@pytest.mark.parametrize(
    "values",
    [
        ["plain", AWKWARD, "", "NULL", "a,b", '"', "\\"],
        ["plain", None],
        [],
    ],
)
def test_the_any_lookup_matches_what_in_matches(values):
    onboarding = register_athlete()
    names = ["plain", AWKWARD, "", "NULL", "a,b", '"', "\\", "other"]
    for name in names:
        Timer.objects.create(workflow_type="t", execution_id=onboarding.pk, name=name, due_at=timezone.now())
    expected = set(Timer.objects.filter(name__in=values).values_list("name", flat=True))
    assert set(Timer.objects.filter(name__any=values).values_list("name", flat=True)) == expected
    assert expected <= set(values)


def test_the_any_lookup_on_uuid_and_integer_keys():
    first, second = register_athlete(), register_athlete()
    ids = [first.pk, uuid.uuid4()]
    assert list(Onboarding.objects.filter(pk__any=ids).values_list("pk", flat=True)) == [first.pk]
    timers = list(Timer.objects.filter(execution_id__any=[first.pk, second.pk]).values_list("pk", flat=True))
    assert len(timers) == Timer.objects.filter(execution_id__in=[first.pk, second.pk]).count() > 0
    assert Timer.objects.filter(pk__any=timers[:1]).get().pk == timers[0]


def _as_sent(value) -> str:
    """A prepared value as PostgreSQL receives it: the literal psycopg inlines."""
    return psycopg.sql.Literal(value).as_string(connection.connection)


NAIVE = datetime.datetime(2026, 12, 1, 10, 0)  # the field makes it aware, in the current time zone


@pytest.mark.parametrize(
    "make",
    [
        lambda o: audit.new_event(o, transition="t", source="a", target="b", actor="user:1", data={"x": AWKWARD}),
        lambda o: OutboxMessage(
            template="x", to=[AWKWARD], context={"n": None}, execution_id=o.pk, next_attempt_at=NAIVE
        ),
        lambda o: Timer(
            workflow_type="onboarding", execution_id=str(o.pk), name=AWKWARD, due_at=datetime.date(2026, 12, 1)
        ),
        lambda o: o,
    ],
    ids=["event", "outbox-with-a-naive-datetime", "timer-with-a-uuid-string-and-a-date", "workflow-with-an-enum-state"],
)
def test_values_prepared_by_the_engine_are_what_save_would_send(make):
    """`engine._db_values` skips the fields' preparation for plain values only: whatever
    else (JSON, enums, strings for UUIDs, naive or date values for datetimes) goes through it."""
    onboarding = register_athlete()
    onboarding.expire()  # leaves an enum member in `state`
    instance = make(onboarding)
    fields = engine._insert_template(type(instance))[1]
    frozen = time_machine.travel(timezone.now(), tick=False)  # auto_now_add stamps the same instant twice
    with frozen, timezone.override("Europe/Madrid"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "received a naive datetime": on purpose
        fast = engine._db_values(instance, engine._value_plan(type(instance), fields), add=True)
        orm = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    assert [_as_sent(v) for v in fast] == [_as_sent(v) for v in orm]
