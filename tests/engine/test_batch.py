"""A request's writes as one statement: what runs, when, and what a refusal leaves."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from payroll.models import PayrollReport
from zea.workflows import batch, engine
from zea.workflows.models import AuditEvent, OutboxMessage, Timer

pytestmark = pytest.mark.django_db

WELCOME = "onboarding/email/welcome"


def start_report(month: int, **effects) -> PayrollReport:
    return engine.start(PayrollReport, actor="user:1", month=date(2026, month, 1), time_zone="UTC", **effects)


def writes_sent(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].split()[0].upper() in ("WITH", "INSERT", "UPDATE")]


def test_the_blocks_writes_run_as_one_statement_and_get_their_keys():
    due = timezone.now() + timedelta(days=3)
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        with batch.together() as writes:
            report = start_report(1, schedule=[engine.Schedule("remind", due)])
            rows = engine.notify(report, engine.Email(template=WELCOME, to=["a@x.io"]))
            assert rows[0].pk is None  # nothing is written before the batch runs
            assert not PayrollReport.objects.filter(pk=report.pk).exists()
            (answer,) = writes.run("%s + 1", [41])
    assert answer == 42
    assert len(writes_sent(captured)) == 1
    assert OutboxMessage.objects.get(pk=rows[0].pk).execution_id == report.pk
    assert Timer.objects.get(execution_id=report.pk).name == "remind"
    assert PayrollReport.objects.get(pk=report.pk).state == PayrollReport.initial_state
    assert AuditEvent.objects.get(execution_id=report.pk).transition == "start"


def test_what_is_left_runs_at_the_end_of_the_block_and_a_nested_block_joins_it():
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        with batch.together():
            first = start_report(2)
            with batch.together():
                second = start_report(3)
            assert not PayrollReport.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert len(writes_sent(captured)) == 1
    assert PayrollReport.objects.filter(pk__in=[first.pk, second.pk]).count() == 2


def test_a_block_that_raises_writes_nothing():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        with batch.together():
            start_report(4)
            engine.notify(None, engine.Email(template=WELCOME, to=["b@x.io"]))
            1 / 0  # noqa: B018
    assert not PayrollReport.objects.exists() and not OutboxMessage.objects.exists()
    # and the next writes are not gathered any more
    report = start_report(5)
    assert PayrollReport.objects.filter(pk=report.pk).exists()


def test_a_constraint_refusing_one_part_refuses_the_whole_statement():
    with pytest.raises(IntegrityError), transaction.atomic():
        with batch.together():
            start_report(6)
            engine.notify(None, engine.Email(template=WELCOME, to=["c@x.io"]))
            start_report(6)  # one report per month
    assert not PayrollReport.objects.exists() and not OutboxMessage.objects.exists()
    assert not AuditEvent.objects.filter(workflow_type=PayrollReport.workflow_type).exists()
