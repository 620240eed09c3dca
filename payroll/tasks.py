"""Thin payroll tasks."""

from celery import shared_task

from payroll import services


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(Exception,),
    # Jittered 0-5 s, 0-10 s, … : a transient failure (database restart) is retried soon;
    # a persistent one leaves the report `failed` with its reason, for staff to regenerate.
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=240,
    time_limit=300,
)
def generate_report(report_id: str) -> str:
    return services.generate(report_id)


# Retried like a generation (a database restart at 03:00); should its message be lost,
# the sweeper asks for the month a little later (`services._catch_up_monthly`).
@shared_task(acks_late=True, ignore_result=True, autoretry_for=(Exception,), retry_backoff=5, max_retries=5)
def monthly_report() -> str:
    """Beat, 1st of the month 03:00 local: last month's report (idempotent per month)."""
    report, _ = services.request_monthly_report(today=services.local_today())
    return str(report.pk)
