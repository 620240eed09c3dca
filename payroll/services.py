"""Payroll use cases: request a month's report, generate it, re-drive stalled ones."""

import logging
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from payroll import figures, schedule
from payroll.models import PayrollReport
from zea.workflows import dispatch, engine
from zea.workflows.engine import Email

logger = logging.getLogger(__name__)
State = PayrollReport.State
# A report still pending this long after it was requested lost its message; one
# `generating` for this long lost its worker.
PENDING_STALL = timedelta(minutes=1)
GENERATING_STALL = timedelta(minutes=10)


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def local_today() -> date:
    """Today in ZEA_TIME_ZONE (explicit: the process' active time zone may differ)."""
    return timezone.localdate(timezone=ZoneInfo(settings.ZEA_TIME_ZONE))


def _enqueue_generation(report: PayrollReport) -> None:
    transaction.on_commit(
        lambda: dispatch.safe_send("payroll.tasks.generate_report", args=[str(report.pk)], queue="reports")
    )


@transaction.atomic
def request_report(*, month: date, actor: str, regenerate: bool = False) -> tuple[PayrollReport, bool]:
    """The month's report, started if new (or regenerated on request); returns (report, started).

    One report per month: a second request (or a second beat firing) returns the first.
    """
    report = PayrollReport.objects.select_for_update().filter(month=month).first()
    if report is None:
        try:
            with transaction.atomic():
                report = engine.start(
                    PayrollReport,
                    actor=actor,
                    month=month,
                    time_zone=settings.ZEA_TIME_ZONE,
                    data={"month": f"{month:%Y-%m}"},
                )
        except IntegrityError:  # another request created it a moment ago
            return PayrollReport.objects.select_for_update().get(month=month), False
        _enqueue_generation(report)
        return report, True
    if regenerate and report.state in (State.READY, State.FAILED):
        report = engine.transition(
            report,
            "regenerate",
            actor=actor,
            data={"month": f"{month:%Y-%m}"},
            args={"time_zone": settings.ZEA_TIME_ZONE},
        )
        _enqueue_generation(report)
        return report, True
    return report, False


def request_monthly_report(*, today: date) -> tuple[PayrollReport, bool]:
    """The beat's job: last month's report. Firing twice creates nothing new, but a report
    that failed, or was computed before its month was over (a staff preview), is redone:
    the beat's report must hold the whole month."""
    month = previous_month(today)
    report, started = request_report(month=month, actor=engine.SYSTEM_BEAT)
    if started or report.state in (State.PENDING, State.GENERATING):
        return report, started
    if report.state == State.FAILED or _a_preview(report):
        return request_report(month=month, actor=engine.SYSTEM_BEAT, regenerate=True)
    return report, False


def regenerate_from_admin(report: PayrollReport, *, actor: str) -> PayrollReport:
    return request_report(month=report.month, actor=actor, regenerate=True)[0]


def generate(report_id) -> str:
    """Compute and store the figures; idempotent: a ready report is left alone, a
    duplicate delivery finding it `generating` computes again and only one completes."""
    with transaction.atomic():
        report = engine.lock(PayrollReport, report_id)
        if report is None or report.state == State.READY:
            return report.state if report else "missing"
        if report.state != State.GENERATING:
            report = engine.transition(report, "generate", actor=engine.SYSTEM_WORKER)
    try:
        rows = figures.week_rows(report.month, report.time_zone)
        csv_text = figures.to_csv(rows)
        totals = figures.totals(rows)
    except Exception as exc:
        _record_failure(report, exc)
        raise
    rates = {row.coach_id: str(row.hourly_rate) for row in rows}
    with transaction.atomic():
        report = engine.lock(PayrollReport, report_id)
        if report.state != State.GENERATING:
            return report.state
        engine.transition(
            report,
            "complete",
            actor=engine.SYSTEM_WORKER,
            data={"rows": len(rows), "coaches": len(totals)},
            args={"totals": totals, "rates": rates, "csv": csv_text, "generated_at": timezone.now()},
            emails=[_ready_email(report)],
        )
    return State.READY


def _record_failure(report: PayrollReport, exc: Exception) -> None:
    reason = f"{type(exc).__name__}: {exc}"
    logger.exception("payroll %s failed", report.month_label)
    with transaction.atomic():
        report = engine.lock(PayrollReport, report.pk)
        if report.state == State.GENERATING:
            engine.transition(report, "fail", actor=engine.SYSTEM_WORKER, args={"reason": reason})


def _ready_email(report: PayrollReport) -> Email:
    return Email(
        template="payroll/email/ready",
        to=list(settings.ZEA_PAYROLL_RECIPIENTS),
        context={"month": report.month_label, "report_id": str(report.pk)},
        attachments=[
            {
                "filename": f"payroll-{report.month_label}.csv",
                "mimetype": "text/csv",
                "source": "payroll.services.csv_bytes",
                "args": {"report_id": str(report.pk)},
            }
        ],
    )


def flag_late_recording(*, session, **kwargs) -> None:
    """A session recorded after its month's report was made for good is in no report (the
    next month's counts its own sessions only): tell the payroll recipients, who decide
    whether to regenerate the month (the admin's button). In the recording's transaction."""
    month = timezone.localdate(session.actual_start, timezone=ZoneInfo(settings.ZEA_TIME_ZONE)).replace(day=1)
    report = PayrollReport.objects.filter(month=month, state=State.READY).first()
    if report is None or _a_preview(report):
        return  # still to be made, or to be redone at the month's run: it will count it
    engine.notify(
        report,
        Email(
            template="payroll/email/late_session",
            to=list(settings.ZEA_PAYROLL_RECIPIENTS),
            context={"month": report.month_label, "report_id": str(report.pk), "session_id": str(session.pk)},
        ),
    )


def csv_bytes(*, report_id) -> bytes:
    """The stored CSV as the spreadsheet-friendly bytes we serve and attach (UTF-8 with BOM)."""
    return ("\ufeff" + PayrollReport.objects.values_list("csv", flat=True).get(pk=report_id)).encode()


def repair_stalled(*, now) -> int:
    """Sweeper hook: re-enqueue reports whose generation message or worker was lost, and
    make up for a monthly run whose message was."""
    return _redrive_stalled(now) + _catch_up_monthly(now)


def _catch_up_monthly(now) -> int:
    """Last month's report, once the beat's run for it is overdue and left nothing.

    The beat advances its entry before it publishes: a message lost then (Redis down at
    03:00 on the 1st) is never sent again, and nothing else would ask for the month.
    A report that is under way, done after its month, or failed (staff's to regenerate,
    or every sweep would retry it) needs nothing here.
    """
    catch_up = settings.ZEA_PAYROLL_CATCH_UP
    if not catch_up:
        return 0
    today = timezone.localdate(now, timezone=ZoneInfo(settings.ZEA_TIME_ZONE))
    month = previous_month(today)
    report = PayrollReport.objects.filter(month=month).only("month", "state", "generated_at", "time_zone").first()
    if report is not None and not _a_preview(report):
        return 0
    due = schedule.this_months_run(now)
    if due is None or now < due + catch_up:
        return 0
    logger.warning("the monthly payroll run of %s left no report for %s; requesting it", f"{due:%Y-%m-%d %H:%M}", month)
    request_monthly_report(today=today)
    return 1


def _a_preview(report: PayrollReport) -> bool:
    """A ready report computed before its month was over (what the monthly run redoes)."""
    month_end = figures.month_bounds(report.month, ZoneInfo(report.time_zone))[1]
    return report.state == State.READY and (report.generated_at is None or report.generated_at < month_end)


def _redrive_stalled(now) -> int:
    """Re-enqueue reports whose generation message or worker was lost."""
    # One more message per stall period, not one per sweep: a generation that is merely
    # slow (or a busy queue) must not pile up duplicate computations.
    stalled = list(
        PayrollReport.objects.filter(
            Q(state=State.PENDING, updated_at__lt=now - PENDING_STALL)
            & (Q(redriven_at__isnull=True) | Q(redriven_at__lt=now - PENDING_STALL))
            | Q(state=State.GENERATING, updated_at__lt=now - GENERATING_STALL)
            & (Q(redriven_at__isnull=True) | Q(redriven_at__lt=now - GENERATING_STALL))
        ).values_list("pk", flat=True)
    )
    for pk in stalled:
        if dispatch.safe_send("payroll.tasks.generate_report", args=[str(pk)], queue="reports"):
            PayrollReport.objects.filter(pk=pk).update(redriven_at=now)
    return len(stalled)
