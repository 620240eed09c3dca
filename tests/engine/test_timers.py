"""Timers are rows: fired once when due, by an ETA task or the sweeper, never twice."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from onboarding.models import Onboarding
from tests.conftest import PROFILE, flush_test_redis, register_athlete
from tests.helpers import wait_until
from zea.accounts.models import User
from zea.workflows import sweeper, tasks, timers, verify
from zea.workflows.models import AuditEvent, OutboxMessage, Timer

pytestmark = pytest.mark.django_db


def _expired_events(onboarding):
    return AuditEvent.objects.filter(execution_id=onboarding.pk, target="expired").count()


def test_a_due_timer_fires_its_transition_once(onboarding):
    deadline = Timer.objects.get(execution_id=onboarding.pk, name="deadline")
    with time_machine.travel(deadline.due_at - timedelta(seconds=1), tick=False):
        sweeper.sweep()
        assert Onboarding.objects.get(pk=onboarding.pk).state == "awaiting_profile"
    with time_machine.travel(deadline.due_at + timedelta(seconds=1), tick=False):
        first = sweeper.sweep()
        second = sweeper.sweep()
    assert Onboarding.objects.get(pk=onboarding.pk).state == "expired"
    assert first.fired >= 1 and second.fired == 0
    assert _expired_events(onboarding) == 1
    deadline.refresh_from_db()
    # Expiry cancels the onboarding's pending timers; the one that fired it stays fired.
    assert deadline.fired_at is not None and deadline.cancelled_at is None and deadline.outcome == "expired"


def test_a_duplicated_delivery_changes_nothing(onboarding):
    deadline = Timer.objects.get(execution_id=onboarding.pk, name="deadline")
    with time_machine.travel(deadline.due_at + timedelta(seconds=5), tick=False):
        assert tasks.fire_timer.apply(args=[deadline.pk]).get() == "expired"
        assert tasks.fire_timer.apply(args=[deadline.pk]).get() is None
        assert timers.fire(deadline.pk) is None
    assert _expired_events(onboarding) == 1
    deadline.refresh_from_db()
    assert (deadline.fired_at is not None, deadline.cancelled_at) == (True, None)
    # its reminders, not due yet, were cancelled by the expiry and never fire
    reminders = Timer.objects.filter(execution_id=onboarding.pk).exclude(pk=deadline.pk)
    assert reminders and all(r.cancelled_at is not None and r.fired_at is None for r in reminders)
    assert len([m for m in mail.outbox if "expired" in m.subject]) <= 1


def test_an_early_delivery_does_not_fire(onboarding):
    deadline = Timer.objects.get(execution_id=onboarding.pk, name="deadline")
    assert tasks.fire_timer.apply(args=[deadline.pk]).get() is None
    deadline.refresh_from_db()
    assert deadline.is_pending


def test_a_cancelled_timer_never_fires(onboarding):
    from onboarding import services

    services.update_profile(user=onboarding.athlete.user, **PROFILE)
    assert not Timer.objects.pending().filter(execution_id=onboarding.pk).exists()
    with time_machine.travel(timezone.now() + timedelta(days=30), tick=False):
        sweeper.sweep()
        for timer in Timer.objects.filter(execution_id=onboarding.pk):
            assert timers.fire(timer.pk) is None
    assert Onboarding.objects.get(pk=onboarding.pk).state == "completed"
    assert not Timer.objects.filter(execution_id=onboarding.pk, fired_at__isnull=False).exists()


def test_a_timer_is_never_both_fired_and_cancelled(onboarding):
    from django.db import IntegrityError, transaction

    deadline = Timer.objects.get(execution_id=onboarding.pk, name="deadline")
    with time_machine.travel(deadline.due_at + timedelta(seconds=1), tick=False):
        assert timers.fire(deadline.pk) == "expired"
    with pytest.raises(IntegrityError, match="timer_fired_or_cancelled"), transaction.atomic():
        Timer.objects.filter(pk=deadline.pk).update(cancelled_at=timezone.now())


def test_the_sweeper_fires_a_backlog_in_batches_each_once(settings):
    settings.ZEA_SWEEP_BATCH = 7
    executions = [register_athlete(first_name=f"N{i}", language="es" if i % 2 else "") for i in range(20)]
    completed = register_athlete(complete=True)
    with time_machine.travel(timezone.now() + timedelta(days=8), tick=False):
        result = sweeper.sweep()
    # 20 deadlines plus their reminders, all past due
    assert result.fired == Timer.objects.filter(fired_at__isnull=False).count() == 60
    assert set(Onboarding.objects.filter(pk__in=[e.pk for e in executions]).values_list("state", flat=True)) == {
        "expired"
    }
    assert AuditEvent.objects.filter(target="expired").count() == 20
    # the bulk expiry cancelled each onboarding's timers, those of this very batch among
    # them: each of these settled once, as fired
    assert not Timer.objects.filter(fired_at__isnull=False, cancelled_at__isnull=False).exists()
    assert not User.objects.filter(athlete__onboarding__in=executions, is_active=True).exists()
    assert User.objects.get(pk=completed.athlete.user_id).is_active  # only the expired ones
    expiry_emails = OutboxMessage.objects.filter(template="onboarding/email/expired")
    assert sorted(expiry_emails.values_list("execution_id", flat=True)) == sorted(e.pk for e in executions)
    for execution in executions:  # each to its athlete, by name, in their language
        email, user = expiry_emails.get(execution_id=execution.pk), execution.athlete.user
        assert (email.to, email.context["first_name"], email.language) == ([user.email], user.first_name, user.language)
    # reminders whose deadline had passed too were not sent
    assert not OutboxMessage.objects.filter(template="onboarding/email/reminder").exists()
    assert not list(verify.verify_all())


def test_a_timer_whose_handler_fails_does_not_block_the_others(onboarding, monkeypatch):
    other = register_athlete()
    original = timers.handler_for

    def broken_for_one(model, name):
        handler = original(model, name)

        def wrapped(workflow, timer):
            if workflow.pk == onboarding.pk:
                raise RuntimeError("boom")
            return handler(workflow, timer)

        return wrapped

    monkeypatch.setattr(timers, "handler_for", broken_for_one)

    def broken_bulk(workflows, timers_):
        raise RuntimeError("bulk boom")

    monkeypatch.setattr("onboarding.services.on_deadlines", broken_bulk)  # falls back to one by one
    with time_machine.travel(timezone.now() + timedelta(days=8), tick=False):
        result = sweeper.sweep()
    assert result.failed == 3
    assert Onboarding.objects.get(pk=other.pk).state == "expired"
    assert Onboarding.objects.get(pk=onboarding.pk).state == "awaiting_profile"
    assert Timer.objects.pending().filter(execution_id=onboarding.pk).count() == 3


@pytest.mark.worker
def test_eta_task_fires_a_near_timer_on_a_real_worker(celery_worker, settings):
    settings.ZEA_ONBOARDING_TIMEOUT = timedelta(seconds=2)
    onboarding = register_athlete()
    deadline = Timer.objects.get(execution_id=onboarding.pk, name="deadline")
    assert deadline.enqueued_at is not None  # sent as an ETA task at commit
    wait_until(lambda: Onboarding.objects.get(pk=onboarding.pk).state == "expired", timeout=15)
    assert _expired_events(onboarding) == 1


@pytest.mark.worker
def test_after_redis_is_flushed_the_sweeper_at_worker_start_fires_every_overdue_timer(transactional_db, settings):
    settings.ZEA_ONBOARDING_TIMEOUT = timedelta(seconds=1)
    flush_test_redis()
    executions = [register_athlete() for _ in range(5)]
    flush_test_redis()  # every ETA message is gone
    # Wait until every timer (deadlines and reminders) is overdue.
    wait_until(lambda: not Timer.objects.pending().filter(due_at__gte=timezone.now()).exists(), timeout=5)

    from celery.contrib.testing.worker import start_worker

    from zea.celery import app, sweep_at_worker_start

    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING") as worker:
        # The embedded test worker sends `test_worker_started`, not `worker_ready`; run the
        # production handler as the real worker would (tests/e2e covers real processes).
        sweep_at_worker_start(sender=worker.consumer)
        wait_until(
            lambda: Onboarding.objects.filter(pk__in=[e.pk for e in executions], state="expired").count() == 5,
            timeout=20,
        )
    flush_test_redis()
    assert AuditEvent.objects.filter(target="expired").count() == 5
