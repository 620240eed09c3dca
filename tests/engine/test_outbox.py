"""Emails are outbox rows: none for a rolled-back change, none lost when Redis is down."""

import base64
import json
import os
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import redis
import time_machine
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from kombu import pools

from tests.conftest import flush_test_redis, register_athlete
from tests.flaky_email import FlakyBackend
from tests.helpers import plans, race, wait_until
from zea.celery import app as celery_app
from zea.workflows import dispatch, engine, outbox, sweeper, tasks
from zea.workflows.models import OutboxMessage


class Boom(Exception):
    pass


@pytest.mark.worker
def test_a_rolled_back_transaction_sends_no_email(celery_worker):
    with pytest.raises(Boom), transaction.atomic():
        register_athlete()
        raise Boom
    committed = register_athlete()
    wait_until(lambda: len(mail.outbox) == 1)
    assert mail.outbox[0].to == [committed.athlete.user.email]
    assert OutboxMessage.objects.count() == 1


@pytest.mark.worker
def test_the_welcome_email_is_delivered_after_commit_by_the_worker(celery_worker):
    onboarding = register_athlete()
    message = OutboxMessage.objects.get(execution_id=onboarding.pk)
    wait_until(lambda: OutboxMessage.objects.get(pk=message.pk).sent_at is not None)
    assert [m.subject for m in mail.outbox] == ["Complete your ZEA Sport profile"]
    assert "Ana" in mail.outbox[0].body


@contextmanager
def broker_down():
    """Point the producer at a port where nothing listens, as if Redis were down."""
    original = celery_app.conf.broker_url

    def reset_pools():
        pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    # Celery reads CELERY_BROKER_URL from the environment before its own config.
    os.environ["CELERY_BROKER_URL"] = celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    reset_pools()
    try:
        yield
    finally:
        os.environ["CELERY_BROKER_URL"] = celery_app.conf.broker_url = original
        reset_pools()


@pytest.mark.worker
def test_an_email_whose_enqueue_failed_is_delivered_later_by_the_sweeper(transactional_db, anon):
    flush_test_redis()
    with broker_down():
        started = timezone.now()
        response = anon.post(
            "/api/onboarding/register/",
            {"email": "down@example.com", "password": "Str0ng-pass-for-tests!", "first_name": "Rui", "last_name": "R"},
        )
        assert response.status_code == 201, response.json()
        assert (timezone.now() - started) < timedelta(seconds=10)  # the request did not hang on the broker
    message = OutboxMessage.objects.get()
    assert message.sent_at is None
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"):
        time.sleep(0.5)
        assert not mail.outbox  # nothing reached Redis, so nothing was sent yet
        with time_machine.travel(timezone.now() + outbox.redelivery_grace(), tick=True):
            assert sweeper.sweep().enqueued_emails == 1
        wait_until(lambda: OutboxMessage.objects.get(pk=message.pk).sent_at is not None)
    flush_test_redis()
    assert [m.to for m in mail.outbox] == [["down@example.com"]]


@pytest.mark.worker
def test_the_sweeper_re_enqueues_a_lost_email(celery_worker):
    onboarding = register_athlete()
    wait_until(lambda: OutboxMessage.objects.filter(sent_at__isnull=False).count() == 1)
    # Simulate a message lost in transit: a pending row nobody enqueued.
    lost = OutboxMessage.objects.create(
        template="onboarding/email/reminder",
        to=["lost@example.com"],
        context={"first_name": "Lu", "deadline": "soon"},
        workflow_type="onboarding",
        execution_id=onboarding.pk,
        next_attempt_at=timezone.now(),
    )
    assert sweeper.sweep().enqueued_emails == 0  # not stale yet: its own task may be on the way
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=True):
        assert sweeper.sweep().enqueued_emails == 1
        wait_until(lambda: OutboxMessage.objects.get(pk=lost.pk).sent_at is not None)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([onboarding.athlete.user.email, "lost@example.com"])


@pytest.mark.worker
def test_a_failing_send_is_retried_with_backoff(celery_worker, settings):
    settings.EMAIL_BACKEND = "tests.flaky_email.FlakyBackend"
    settings.ZEA_OUTBOX_BACKOFF = timedelta(milliseconds=300)
    FlakyBackend.failures_left, FlakyBackend.attempts = 2, 0
    onboarding = register_athlete()
    message = OutboxMessage.objects.get(execution_id=onboarding.pk)
    wait_until(lambda: OutboxMessage.objects.get(pk=message.pk).sent_at is not None)
    message.refresh_from_db()
    assert message.attempts == 3 and FlakyBackend.attempts == 3
    assert len(mail.outbox) == 1


@pytest.mark.worker
def test_one_transactions_emails_go_as_one_task_and_a_failed_one_is_retried_alone(celery_worker, settings):
    settings.EMAIL_BACKEND = "tests.flaky_email.FlakyBackend"
    settings.ZEA_OUTBOX_BACKOFF = timedelta(milliseconds=300)
    FlakyBackend.failures_left, FlakyBackend.attempts = 1, 0
    with transaction.atomic():
        rows = engine.notify(
            None,
            *[engine.Email(template="onboarding/email/welcome", to=[f"{n}@example.com"]) for n in ("a", "b")],
        )
    # The first send fails and is retried on its own after its backoff: no sweeper runs
    # here, so only that retry task can deliver it.
    wait_until(lambda: not OutboxMessage.objects.pending().filter(pk__in=[r.pk for r in rows]).exists())
    attempts = OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).values_list("attempts", flat=True)
    assert sorted(attempts) == [1, 2]
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    assert FlakyBackend.attempts == 3


def test_emails_of_one_commit_are_one_message_to_the_broker(settings, monkeypatch):
    sent = []
    monkeypatch.setattr(dispatch, "safe_send", lambda name, **options: sent.append((name, options)) or True)
    assert dispatch.send_outbox([7]) and dispatch.send_outbox([8, 9])
    assert dispatch.send_outbox(list(range(250)))
    assert sent[:2] == [
        ("zea.workflows.tasks.deliver_outbox", {"args": [7]}),
        ("zea.workflows.tasks.deliver_outbox_batch", {"args": [[8, 9]]}),
    ]
    assert [len(options["args"][0]) for _, options in sent[2:]] == [100, 100, 50]


def test_backoff_doubles_and_is_capped(settings):
    settings.ZEA_OUTBOX_BACKOFF = timedelta(seconds=5)
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert outbox.backoff(30) == outbox.MAX_BACKOFF


@pytest.mark.django_db
def test_a_message_that_keeps_failing_is_marked_failed(settings):
    settings.EMAIL_BACKEND = "tests.flaky_email.FlakyBackend"
    settings.ZEA_OUTBOX_MAX_ATTEMPTS = 3
    FlakyBackend.failures_left = 99
    onboarding = register_athlete()
    message = OutboxMessage.objects.get(execution_id=onboarding.pk)
    delays = [_deliver_when_due(message) for _ in range(3)]
    message.refresh_from_db()
    assert delays[0] < delays[1] and delays[2] is None
    assert message.failed_at is not None and message.attempts == 3
    assert "SMTP server unavailable" in message.last_error
    assert outbox.deliver(message.pk) is None and message.status == "failed"
    FlakyBackend.failures_left = 0


def _deliver_when_due(message):
    """outbox.deliver at the message's next attempt, as its retry task would."""
    message.refresh_from_db()
    with time_machine.travel(max(message.next_attempt_at, timezone.now()), tick=False):
        return outbox.deliver(message.pk)


@pytest.mark.django_db
def test_a_second_way_to_an_email_waits_out_its_backoff(settings):
    # The sweeper's re-send, or a retry task beside a wake-up, reaching a message before
    # its next attempt is due must not spend that attempt: a burst of them would give up
    # on an email within seconds of a mail-server outage.
    settings.EMAIL_BACKEND = "tests.flaky_email.FlakyBackend"
    FlakyBackend.failures_left = 99
    message = OutboxMessage.objects.get(execution_id=register_athlete().pk)
    delay = outbox.deliver(message.pk)
    assert delay == outbox.backoff(1)
    for _ in range(5):
        assert outbox.deliver(message.pk) is None and outbox.deliver_many([message.pk]) == {}
    message.refresh_from_db()
    assert (message.attempts, message.failed_at) == (1, None)
    FlakyBackend.failures_left = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # due a hair later by this clock than by the one that stamped it: due all the same
    with time_machine.travel(message.next_attempt_at - outbox.DUE_TOLERANCE / 2, tick=False):
        assert outbox.deliver(message.pk) is None
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 2 and len(mail.outbox) == 1


def test_an_email_is_retried_for_most_of_a_day_by_default():

    from zea import settings as project

    retried = sum((outbox.backoff(n) for n in range(1, project.ZEA_OUTBOX_MAX_ATTEMPTS)), timedelta())
    assert timedelta(hours=20) < retried < timedelta(hours=24)


@pytest.mark.django_db
def test_every_attempt_at_one_email_carries_the_same_message_id(settings):
    settings.DEFAULT_FROM_EMAIL = "ZEA Sport <no-reply@mail.zea.test>"
    settings.EMAIL_BACKEND = "tests.flaky_email.FlakyBackend"
    FlakyBackend.failures_left = 1
    first, second = register_athlete(), register_athlete()
    message = OutboxMessage.objects.get(execution_id=first.pk)
    other = OutboxMessage.objects.get(execution_id=second.pk)
    assert outbox.deliver(message.pk) is not None  # the first attempt failed
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert _deliver_when_due(message) is None and outbox.deliver(other.pk) is None
    sent = [email.message()["Message-ID"] for email in mail.outbox]
    assert sent == [outbox.message_id(message), outbox.message_id(other)]
    assert sent[0] == outbox.render(OutboxMessage.objects.get(pk=message.pk)).message()["Message-ID"]
    assert sent[0] != sent[1] and sent[0].endswith("@mail.zea.test>")


def _wakeups() -> list[tuple]:
    """The deliver_due_outbox messages waiting in the tests' broker db, newest first, as
    their args (kombu keeps a queue as a Redis list of JSON envelopes named after it)."""
    client = redis.Redis.from_url(celery_app.conf.broker_url)
    try:
        envelopes = [json.loads(body) for body in client.lrange("notifications", 0, -1)]
    finally:
        client.close()
    return [
        tuple(json.loads(base64.b64decode(e["body"]))[0])
        for e in envelopes
        if e["headers"].get("task") == dispatch.DELIVER_DUE
    ]


def _queued_wakeups() -> int:
    return len(_wakeups())


def _commit_email(to: str) -> OutboxMessage:
    with transaction.atomic():
        (row,) = engine.notify(None, engine.Email(template="onboarding/email/welcome", to=[to]))
    return row


@pytest.mark.django_db(transaction=True)
def test_commits_while_a_wakeup_is_queued_share_it_and_it_delivers_them_all():
    flush_test_redis()
    rows = [_commit_email(f"{n}@example.com") for n in range(5)]
    assert _queued_wakeups() == 1  # one doorbell for five commits
    assert tasks.deliver_due_outbox() == 5  # what the worker runs when it gets to it
    assert sorted(m.to[0] for m in mail.outbox) == [f"{n}@example.com" for n in range(5)]
    assert not OutboxMessage.objects.pending().filter(pk__in=[r.pk for r in rows]).exists()
    _commit_email("later@example.com")  # the task answered the doorbell: the next commit rings again
    assert _queued_wakeups() == 2
    flush_test_redis()


@pytest.mark.django_db(transaction=True)
def test_the_wakeup_lingers_after_the_ring_so_the_commits_of_that_moment_share_it(settings):
    settings.ZEA_OUTBOX_LINGER = timedelta(milliseconds=300)
    flush_test_redis()
    _commit_email("first@example.com")
    ((rung_at,),) = _wakeups()
    assert abs(rung_at - time.time()) < 5

    def commit_later():
        _commit_email("second@example.com")
        connection.close()

    later = threading.Timer(0.1, commit_later)
    later.start()
    started = time.monotonic()
    assert tasks.deliver_due_outbox(rung_at) == 2  # the commit 100 ms after the ring went with it
    assert time.monotonic() - started >= 0.15
    later.join()
    assert _queued_wakeups() == 1  # the second commit found the doorbell rung: no second task
    flush_test_redis()


@pytest.mark.django_db
def test_a_wakeup_waits_out_the_linger_once_whatever_the_clocks_say(settings):
    settings.ZEA_OUTBOX_LINGER = timedelta(milliseconds=500)
    started = time.monotonic()
    assert outbox.deliver_due(rung_at=time.time() - 60) == (0, {})  # waited in the queue: no more waiting
    assert time.monotonic() - started < 0.4
    assert outbox.deliver_due(rung_at=time.time() + 3600) == (0, {})  # a clock ahead: the linger at most
    assert 0.45 <= time.monotonic() - started < 0.9


@pytest.mark.django_db
def test_a_wakeup_after_a_busy_one_lingers_longer_and_after_a_quiet_one_does_not(settings):
    settings.ZEA_OUTBOX_LINGER = timedelta(milliseconds=1)
    settings.ZEA_OUTBOX_LINGER_BUSY = timedelta(milliseconds=400)
    quiet, busy = timedelta(milliseconds=1), timedelta(milliseconds=400)
    assert outbox.linger() == quiet  # a worker starts quiet
    for n in range(outbox.BUSY_WAKEUP - 1):
        _commit_email(f"{n}@example.com")
    assert outbox.deliver_due(rung_at=time.time())[0] == outbox.BUSY_WAKEUP - 1
    assert outbox.linger() == quiet  # one short of busy
    for n in range(outbox.BUSY_WAKEUP):
        _commit_email(f"{n}@example.com")
    assert outbox.deliver_due(rung_at=time.time())[0] == outbox.BUSY_WAKEUP
    assert outbox.linger() == busy
    assert dispatch.doorbell_ttl() > busy  # the bell outlasts the longer linger
    started = time.monotonic()
    assert outbox.deliver_due(rung_at=time.time()) == (0, {})
    assert time.monotonic() - started >= 0.39
    assert outbox.linger() == quiet  # and that one found nothing: quiet again


@pytest.mark.django_db
def test_a_busy_outbox_is_forgotten_after_a_second_and_never_lingers_when_lingering_is_off(settings):
    settings.ZEA_OUTBOX_LINGER = timedelta(milliseconds=25)
    for n in range(outbox.BUSY_WAKEUP + 2):
        _commit_email(f"{n}@example.com")
    # Cut short by its budget after one batch of ten, as a backlog would: still busy.
    taken, _ = outbox.deliver_due(batch=outbox.BUSY_WAKEUP, budget_seconds=0)
    assert taken == outbox.BUSY_WAKEUP
    assert outbox.linger() == settings.ZEA_OUTBOX_LINGER_BUSY
    with time_machine.travel(time.time() + outbox.BUSY_MEMORY + 0.5, tick=False):
        assert outbox.linger() == timedelta(milliseconds=25)
    settings.ZEA_OUTBOX_LINGER = timedelta(0)
    assert outbox.linger() == timedelta(0)
    flush_test_redis()  # the budget's ring for the rest


@pytest.mark.django_db(transaction=True)
def test_a_lost_wakeup_holds_later_emails_back_no_longer_than_the_doorbells_ttl():
    flush_test_redis()
    client = redis.Redis.from_url(celery_app.conf.broker_url)
    client.set(dispatch.DOORBELL, 1, px=300)  # rung, but its task was lost
    _commit_email("held@example.com")
    assert _queued_wakeups() == 0
    wait_until(lambda: not client.exists(dispatch.DOORBELL), timeout=5)
    _commit_email("next@example.com")
    assert _queued_wakeups() == 1
    assert tasks.deliver_due_outbox() == 2  # both, the held one included
    client.close()
    flush_test_redis()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_rings_no_doorbell():
    flush_test_redis()
    with pytest.raises(Boom), transaction.atomic():
        engine.notify(None, engine.Email(template="onboarding/email/welcome", to=["no@example.com"]))
        raise Boom
    assert _queued_wakeups() == 0 and OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_delivering_what_is_due_leaves_rows_waiting_for_their_backoff():
    now = timezone.now()
    due, waiting = (
        OutboxMessage.objects.create(
            template="onboarding/email/welcome", to=[to], context={"first_name": "A"}, next_attempt_at=at
        )
        for to, at in (("due@example.com", now), ("waiting@example.com", now + timedelta(minutes=5)))
    )
    taken, retries = outbox.deliver_due()
    assert (taken, retries) == (1, {})
    assert [m.to for m in mail.outbox] == [["due@example.com"]]
    due.refresh_from_db(), waiting.refresh_from_db()
    assert due.sent_at is not None and due.attempts == 1 and waiting.status == "pending"


@pytest.mark.django_db
def test_a_due_batch_with_one_failing_email_sends_the_others_and_backs_that_one_off(settings):
    settings.EMAIL_BACKEND = "tests.flaky_email.FlakyBackend"
    FlakyBackend.failures_left, FlakyBackend.attempts = 1, 0
    rows = [_commit_email(f"{n}@example.com") for n in range(3)]
    taken, retries = outbox.deliver_due(batch=2)  # two transactions: 2 + 1
    assert taken == 3 and list(retries) == [rows[0].pk]
    assert sorted(m.to[0] for m in mail.outbox) == ["1@example.com", "2@example.com"]
    failed = OutboxMessage.objects.get(pk=rows[0].pk)
    assert failed.status == "pending" and failed.attempts == 1 and failed.next_attempt_at > timezone.now()
    assert "SMTP server unavailable" in failed.last_error


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_share_the_due_emails_and_send_each_once():
    now = timezone.now()
    OutboxMessage.objects.bulk_create(
        OutboxMessage(template="onboarding/email/welcome", to=[f"{n}@example.com"], next_attempt_at=now)
        for n in range(300)
    )
    taken = []
    outcomes = race(*[lambda: taken.append(outbox.deliver_due(batch=25)[0])] * 2)
    assert outcomes == [None, None]
    assert sum(taken) == 300
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"{n}@example.com" for n in range(300))
    assert not OutboxMessage.objects.pending().exists()


@pytest.mark.django_db
def test_the_outbox_queries_written_once_match_the_orm():
    now = timezone.now()
    rows = OutboxMessage.objects.bulk_create(
        OutboxMessage(template="t", to=[f"{n}@x.io"], context={"v": n}, next_attempt_at=now - timedelta(seconds=n))
        for n in range(4)
    )
    OutboxMessage.objects.filter(pk=rows[1].pk).update(sent_at=now)
    OutboxMessage.objects.filter(pk=rows[2].pk).update(next_attempt_at=now + timedelta(hours=1))
    # one that failed and waits out its backoff; the other, never tried, is not held back
    OutboxMessage.objects.filter(pk=rows[3].pk).update(next_attempt_at=now + timedelta(hours=1), attempts=1)
    with transaction.atomic():
        by_id = outbox._lock("ids", [[r.pk for r in rows], now])
        due = outbox._lock("due", [now, 10])
    expected = OutboxMessage.objects.pending().filter(pk__in=[r.pk for r in rows])
    assert [(m.pk, m.to, m.context) for m in by_id] == [
        (m.pk, m.to, m.context) for m in expected.filter(Q(attempts=0) | Q(next_attempt_at__lte=now)).order_by("pk")
    ]
    assert [m.pk for m in due] == list(
        expected.filter(next_attempt_at__lte=now).order_by("next_attempt_at", "pk").values_list("pk", flat=True)
    )
    with connection.cursor() as cursor:  # an outage's backlog, in a table never analyzed
        cursor.execute(
            'INSERT INTO workflows_outboxmessage (template, "to", context, attachments, language, workflow_type,'
            " next_attempt_at, attempts, last_error, created_at)"
            " SELECT 't', '[]', '{}', '[]', '', '', now(), 0, '', now() FROM generate_series(1, 20000)"
        )
    ids = [rows[0].pk, rows[3].pk]
    found = plans(
        outbox._sql("ids"),
        [ids, now],
        types=["bigint[]", "timestamptz"],
        literals=[f"'{{{ids[0]},{ids[1]}}}'", f"'{now.isoformat()}'"],
    )
    for kind, plan in found.items():  # the generic one a prepared statement switches to, too
        assert "outbox_pending_next" not in plan and "pkey" in plan, (kind, plan)
