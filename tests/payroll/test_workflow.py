"""The report as a durable workflow, on a real worker: generation, email with the CSV,
the beat entry and its firing, idempotency, failure and retry, stall repair."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone as dj_timezone
from django_celery_beat.models import PeriodicTask

from bookings import services as bookings
from payroll import figures, schedule, services, tasks
from payroll.models import PayrollReport
from sessions import services as sessions
from sessions.models import TrainingSession
from tests.bookings.conftest import new_slot
from tests.helpers import wait_until
from tests.payroll.conftest import make_coach, recorded
from zea.celery import app as celery_app
from zea.workflows import engine, sweeper
from zea.workflows.models import AuditEvent, OutboxMessage

URL = "/api/payroll/reports/"
AUCKLAND = ZoneInfo("Pacific/Auckland")  # UTC+13 in spring (NZDT)


def payroll_mails():
    return [m for m in mail.outbox if "payroll" in m.subject.lower()]


def transitions(report_id):
    return list(AuditEvent.objects.filter(execution_id=report_id).order_by("seq").values_list("transition", flat=True))


def state_of(report_id):
    return PayrollReport.objects.get(pk=report_id).state


@pytest.fixture
def recipients(settings):
    settings.ZEA_PAYROLL_RECIPIENTS = ["payroll@zea.example", "boss@zea.example"]
    return settings.ZEA_PAYROLL_RECIPIENTS


@pytest.mark.worker
def test_a_request_is_generated_by_the_worker_and_mailed_with_the_csv(celery_worker, staff, payer, recipients):
    coach = make_coach("Nora", "Núñez", "50.00")
    recorded(coach, payer, datetime(2026, 9, 2, 10, 0, tzinfo=UTC), 75)
    response = staff.post(URL, {"month": "2026-09"})
    assert response.status_code == 202 and response.json()["state"] == "pending"
    report_id = response.json()["id"]
    wait_until(lambda: state_of(report_id) == "ready")
    wait_until(lambda: len(payroll_mails()) == 1)
    message = payroll_mails()[0]
    assert message.to == recipients
    assert "2026-09" in message.subject and report_id in message.body
    assert len(message.attachments) == 1
    filename, content, mimetype = message.attachments[0]
    report = PayrollReport.objects.get(pk=report_id)
    assert (filename, mimetype) == ("payroll-2026-09.csv", "text/csv")
    assert content == "\ufeff" + report.csv  # the same bytes the API serves
    assert f"{coach.pk},Nora Núñez,2026-W36,2026-08-31,1,75,1.25,50.00,62.50\r\n" in content

    again = staff.post(URL, {"month": "2026-09"})
    assert again.status_code == 200 and again.json()["id"] == report_id and again.json()["state"] == "ready"
    assert PayrollReport.objects.count() == 1 and transitions(report_id) == ["start", "generate", "complete"]

    coach.hourly_rate = "80.00"
    coach.save()
    assert staff.post(URL, {"month": "2026-09", "regenerate": True}).status_code == 202
    wait_until(lambda: PayrollReport.objects.get(pk=report_id).generation == 2)
    wait_until(lambda: len(payroll_mails()) == 2)
    assert "1,75,1.25,80.00,100.00\r\n" in payroll_mails()[1].attachments[0][1]
    assert transitions(report_id)[3:] == ["regenerate", "generate", "complete"]
    # and its rows are marked sent (the worker commits that just after handing them over)
    wait_until(lambda: not OutboxMessage.objects.filter(execution_id=report_id, sent_at__isnull=True).exists())


def test_the_beat_entry_exists_after_migrate(db, settings):
    entry = PeriodicTask.objects.get(name=schedule.TASK_NAME)
    assert (entry.task, entry.queue, entry.enabled) == ("payroll.tasks.monthly_report", "reports", True)
    cron = entry.crontab
    assert (cron.minute, cron.hour, cron.day_of_month, cron.month_of_year, cron.day_of_week) == (
        "0",
        "3",
        "1",
        "*",
        "*",
    )
    assert str(cron.timezone) == settings.ZEA_TIME_ZONE
    # A staff edit survives the next migrate.
    PeriodicTask.objects.filter(pk=entry.pk).update(enabled=False)
    schedule.ensure_monthly_entry()
    assert PeriodicTask.objects.filter(name=schedule.TASK_NAME).get().enabled is False


@pytest.mark.worker
def test_firing_the_beat_entry_produces_last_months_report_and_the_email(celery_worker, payer, recipients, settings):
    """At 03:00 on 1 Nov in Auckland it is still 31 Oct in UTC: October is last month."""
    settings.ZEA_TIME_ZONE = "Pacific/Auckland"
    PeriodicTask.objects.filter(name=schedule.TASK_NAME).delete()
    schedule.ensure_monthly_entry()  # what migrate does, with this ZEA_TIME_ZONE
    entry = PeriodicTask.objects.get(name=schedule.TASK_NAME)
    assert str(entry.crontab.timezone) == "Pacific/Auckland"
    coach = make_coach("Kiri", "Kiwi", "36.00")
    # 2 Oct 00:30 Auckland is 1 Oct 11:30 UTC; 1 Nov 08:00 Auckland (31 Oct UTC) is November.
    recorded(coach, payer, datetime(2026, 10, 2, 0, 30, tzinfo=AUCKLAND), 50)
    recorded(coach, payer, datetime(2026, 11, 1, 8, 0, tzinfo=AUCKLAND), 50)
    fires_at = datetime(2026, 11, 1, 3, 0, tzinfo=AUCKLAND)
    with time_machine.travel(fires_at, tick=True):
        assert entry.schedule.is_due(datetime(2026, 10, 1, 3, 0, tzinfo=AUCKLAND)).is_due
        assert not entry.schedule.is_due(fires_at).is_due  # just ran: next on 1 Dec
        celery_app.send_task(entry.task, args=[], kwargs={}, queue=entry.queue)  # what beat sends
        report = wait_until(lambda: PayrollReport.objects.filter(state="ready").first())
        wait_until(lambda: len(payroll_mails()) == 1)
        # A second firing (beat restarted, catch-up) creates nothing new.
        tasks.monthly_report()
    assert report.month_label == "2026-10" and report.time_zone == "Pacific/Auckland"
    assert report.csv.splitlines()[1] == f"{coach.pk},Kiri Kiwi,2026-W40,2026-09-28,1,50,0.83,36.00,30.00"
    assert AuditEvent.objects.get(execution_id=report.pk, transition="start").actor == engine.SYSTEM_BEAT
    assert PayrollReport.objects.count() == 1 and transitions(report.pk) == ["start", "generate", "complete"]
    assert payroll_mails()[0].attachments[0][0] == "payroll-2026-10.csv"
    assert len(payroll_mails()) == 1


def test_the_beat_redoes_a_report_previewed_before_the_month_was_over(db, payer):
    coach = make_coach("Pia", "Preview", "30.00")
    recorded(coach, payer, datetime(2026, 10, 5, 10, 0, tzinfo=UTC), 60)
    with time_machine.travel(datetime(2026, 10, 15, 12, 0, tzinfo=UTC)):
        report, _ = services.request_report(month=datetime(2026, 10, 1).date(), actor="user:test")
        services.generate(report.pk)
    recorded(coach, payer, datetime(2026, 10, 20, 10, 0, tzinfo=UTC), 60)
    with time_machine.travel(datetime(2026, 11, 1, 3, 0, tzinfo=UTC)):
        redone, started = services.request_monthly_report(today=services.local_today())
        assert started and redone.pk == report.pk and redone.state == "pending"
        services.generate(report.pk)
        again, started = services.request_monthly_report(today=services.local_today())
        assert not started and again.state == "ready"
    event = AuditEvent.objects.get(execution_id=report.pk, transition="regenerate")
    assert event.actor == engine.SYSTEM_BEAT
    assert PayrollReport.objects.get(pk=report.pk).totals[0]["minutes"] == 120


def test_a_computation_error_fails_the_report_with_its_reason_and_it_can_be_regenerated(db, staff, payer, monkeypatch):
    coach = make_coach("Fay", "Fail", "20.00")
    recorded(coach, payer, datetime(2026, 9, 3, 10, 0, tzinfo=UTC), 30)
    report_id = staff.post(URL, {"month": "2026-09"}).json()["id"]

    def broken(month, tz_name):
        raise ZeroDivisionError("rate table corrupt")

    monkeypatch.setattr(figures, "week_rows", broken)
    with pytest.raises(ZeroDivisionError):
        services.generate(report_id)
    body = staff.get(f"{URL}{report_id}/").json()
    assert body["state"] == "failed" and body["failure_reason"] == "ZeroDivisionError: rate table corrupt"
    assert staff.get(f"{URL}{report_id}/csv/").json()["code"] == "report_not_ready"
    assert transitions(report_id) == ["start", "generate", "fail"]
    monkeypatch.undo()
    assert staff.post(URL, {"month": "2026-09", "regenerate": True}).status_code == 202
    services.generate(report_id)
    body = staff.get(f"{URL}{report_id}/").json()
    assert body["state"] == "ready" and body["failure_reason"] == "" and body["totals"][0]["minutes"] == 30


@pytest.mark.worker
def test_a_failed_generation_is_retried_by_the_worker(celery_worker, staff, payer, monkeypatch):
    coach = make_coach("Tom", "Transient", "20.00")
    recorded(coach, payer, datetime(2026, 9, 3, 10, 0, tzinfo=UTC), 30)
    real, calls = figures.week_rows, []

    def flaky(month, tz_name):
        calls.append(month)
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        return real(month, tz_name)

    monkeypatch.setattr(figures, "week_rows", flaky)
    report_id = staff.post(URL, {"month": "2026-09"}).json()["id"]
    wait_until(lambda: state_of(report_id) == "ready", timeout=30)  # first retry within 5 s (jittered)
    assert transitions(report_id) == ["start", "generate", "fail", "generate", "complete"]
    assert PayrollReport.objects.get(pk=report_id).failure_reason == ""


@pytest.mark.worker
def test_the_sweeper_re_drives_a_report_whose_message_was_lost(celery_worker, staff, payer, monkeypatch):
    coach = make_coach("Lars", "Lost", "20.00")
    recorded(coach, payer, datetime(2026, 9, 3, 10, 0, tzinfo=UTC), 30)
    monkeypatch.setattr(services, "_enqueue_generation", lambda report: None)  # Redis lost the message
    report_id = staff.post(URL, {"month": "2026-09"}).json()["id"]
    monkeypatch.undo()
    # Not stalled yet: the message may be on its way. (The sweep's own count includes
    # other workflows' repairs, e.g. these sessions' review branches, so ask payroll's.)
    assert services.repair_stalled(now=dj_timezone.now()) == 0
    with time_machine.travel(dj_timezone.now() + services.PENDING_STALL + timedelta(seconds=5), tick=True):
        assert sweeper.sweep().repaired >= 1
        wait_until(lambda: state_of(report_id) == "ready")
    assert transitions(report_id) == ["start", "generate", "complete"]


@pytest.mark.worker
def test_the_sweeper_re_drives_a_report_whose_worker_died_while_generating(celery_worker, payer):
    coach = make_coach("Dora", "Dead", "20.00")
    recorded(coach, payer, datetime(2026, 8, 3, 10, 0, tzinfo=UTC), 30)
    # A worker took the message, moved the report to `generating` and was killed.
    report = engine.start(PayrollReport, actor="user:test", month=datetime(2026, 8, 1).date(), time_zone="UTC")
    engine.transition(report, "generate", actor=engine.SYSTEM_WORKER)
    now = dj_timezone.now()
    # A long generation is not a stalled one.
    assert services.repair_stalled(now=now + services.PENDING_STALL * 2) == 0
    with time_machine.travel(now + services.GENERATING_STALL + timedelta(seconds=5), tick=True):
        assert sweeper.sweep().repaired >= 1
        wait_until(lambda: state_of(report.pk) == "ready")
    assert transitions(report.pk) == ["start", "generate", "complete"]


def test_a_stalled_report_is_re_driven_once_per_stall_period_not_every_sweep(db):
    report = engine.start(PayrollReport, actor="user:test", month=datetime(2026, 7, 1).date(), time_zone="UTC")
    start = dj_timezone.now()
    assert services.repair_stalled(now=start) == 0
    assert services.repair_stalled(now=start + timedelta(minutes=2)) == 1
    assert services.repair_stalled(now=start + timedelta(minutes=2, seconds=30)) == 0
    assert services.repair_stalled(now=start + timedelta(minutes=3, seconds=5)) == 1
    fresh = PayrollReport.objects.get(pk=report.pk)
    # `updated_at` still says since when it is pending (the dashboard's "stuck since").
    assert fresh.state == "pending" and fresh.updated_at == report.updated_at
    assert fresh.redriven_at == start + timedelta(minutes=3, seconds=5)


# --- a monthly run whose message was lost -------------------------------------------


@pytest.fixture
def catch_up(db, settings):
    """The sweeper's catch-up on (tests run with it off), in Auckland's time zone, with
    the beat entry migrate writes there."""
    settings.ZEA_PAYROLL_CATCH_UP = timedelta(minutes=15)
    settings.ZEA_TIME_ZONE = "Pacific/Auckland"
    PeriodicTask.objects.filter(name=schedule.TASK_NAME).delete()
    schedule.ensure_monthly_entry()
    return PeriodicTask.objects.get(name=schedule.TASK_NAME)


def _sweep_at(moment) -> int:
    with time_machine.travel(moment, tick=False):
        return sweeper.sweep().repaired


def test_a_monthly_run_that_left_no_report_is_made_up_by_the_sweeper(catch_up):
    # Beat advanced its entry at 03:00 on 1 March and its message was lost: no report.
    assert _sweep_at(datetime(2026, 3, 1, 3, 10, tzinfo=AUCKLAND)) == 0  # the run may still come
    assert not PayrollReport.objects.exists()
    assert _sweep_at(datetime(2026, 3, 1, 3, 16, tzinfo=AUCKLAND)) == 1
    report = PayrollReport.objects.get()
    assert (report.month, report.state) == (datetime(2026, 2, 1).date(), "pending")
    assert AuditEvent.objects.get(execution_id=report.pk).actor == engine.SYSTEM_BEAT
    # The next sweeps, and the lost run's message should it turn up after all, add nothing.
    assert _sweep_at(datetime(2026, 3, 1, 3, 17, tzinfo=AUCKLAND)) == 0
    with time_machine.travel(datetime(2026, 3, 1, 3, 18, tzinfo=AUCKLAND), tick=False):
        tasks.monthly_report.apply()
    assert PayrollReport.objects.count() == 1 and transitions(report.pk) == ["start"]


def test_a_preview_is_redone_a_failed_report_is_left_to_staff(catch_up):
    preview = engine.start(PayrollReport, actor="user:test", month=datetime(2026, 2, 1).date(), time_zone="UTC")
    # computed on 20 February, before its month was over
    engine.transition(preview, "generate", actor=engine.SYSTEM_WORKER)
    engine.transition(
        PayrollReport.objects.get(pk=preview.pk),
        "complete",
        actor=engine.SYSTEM_WORKER,
        args={"totals": [], "rates": {}, "csv": "", "generated_at": datetime(2026, 2, 20, tzinfo=UTC)},
    )
    assert _sweep_at(datetime(2026, 3, 1, 4, 0, tzinfo=AUCKLAND)) == 1
    assert transitions(preview.pk)[-1] == "regenerate"
    failed = engine.start(PayrollReport, actor="user:test", month=datetime(2026, 3, 1).date(), time_zone="UTC")
    engine.transition(failed, "generate", actor=engine.SYSTEM_WORKER)
    engine.transition(
        PayrollReport.objects.get(pk=failed.pk), "fail", actor=engine.SYSTEM_WORKER, args={"reason": "boom"}
    )
    _sweep_at(datetime(2026, 4, 1, 4, 0, tzinfo=AUCKLAND))
    assert state_of(failed.pk) == "failed" and transitions(failed.pk) == ["start", "generate", "fail"]


def test_the_catch_up_follows_the_entry_as_staff_left_it(catch_up):
    # moved to the 3rd at 05:00: not made up before then
    crontab = catch_up.crontab
    crontab.day_of_month, crontab.hour = "3", "5"
    crontab.save()
    assert _sweep_at(datetime(2026, 3, 2, 12, 0, tzinfo=AUCKLAND)) == 0
    assert _sweep_at(datetime(2026, 3, 3, 5, 20, tzinfo=AUCKLAND)) == 1
    # switched off: nothing, whenever
    PeriodicTask.objects.filter(pk=catch_up.pk).update(enabled=False)
    _sweep_at(datetime(2026, 4, 20, tzinfo=AUCKLAND))
    assert list(PayrollReport.objects.values_list("month", flat=True)) == [datetime(2026, 2, 1).date()]


# --- a session recorded after its month's report ---------------------------------------


def _record_at(coach, athlete_user, start: datetime, *, recorded_at: datetime):
    """Book a one-hour slot at `start` (the day before), record its real hour at `recorded_at`."""
    with time_machine.travel(start - timedelta(days=1), tick=False):
        slot = new_slot(coach, start_in=timedelta(days=1))
        session_id = bookings.book_slot(user=athlete_user, slot_id=slot.pk).session_id
    with time_machine.travel(recorded_at, tick=False):
        session = TrainingSession.objects.get(pk=session_id)
        return sessions.record_time(
            session=session, started_at=start, ended_at=start + timedelta(hours=1), actor="user:t"
        )


def _late_emails():
    return OutboxMessage.objects.filter(template="payroll/email/late_session")


def test_a_session_recorded_after_its_months_report_tells_the_payroll_recipients(payer, recipients):
    coach = make_coach("Lara", "Late", "30.00")
    with time_machine.travel(datetime(2026, 4, 1, 3, 0, tzinfo=UTC), tick=False):
        report, _ = services.request_monthly_report(today=datetime(2026, 4, 1).date())
        services.generate(report.pk)  # March, made for good
    late = _record_at(
        coach, payer, datetime(2026, 3, 31, 20, 0, tzinfo=UTC), recorded_at=datetime(2026, 4, 2, tzinfo=UTC)
    )
    email = _late_emails().get()
    assert email.to == recipients and email.execution_id == report.pk
    assert (email.context["month"], email.context["session_id"]) == ("2026-03", str(late.pk))
    # the report itself is left as it was, for staff to regenerate
    assert state_of(report.pk) == "ready" and transitions(report.pk) == ["start", "generate", "complete"]
    # a session of a month whose report is still to come, or a preview, tells no one
    _record_at(
        coach, payer, datetime(2026, 4, 10, 9, 0, tzinfo=UTC), recorded_at=datetime(2026, 4, 10, 11, 0, tzinfo=UTC)
    )
    with time_machine.travel(datetime(2026, 4, 20, tzinfo=UTC), tick=False):
        preview, _ = services.request_report(month=datetime(2026, 4, 1).date(), actor="user:t")
        services.generate(preview.pk)
    _record_at(
        coach, payer, datetime(2026, 4, 21, 9, 0, tzinfo=UTC), recorded_at=datetime(2026, 4, 21, 11, 0, tzinfo=UTC)
    )
    assert _late_emails().count() == 1
