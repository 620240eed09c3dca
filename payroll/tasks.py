"""Thin payroll tasks."""

from celery import shared_task
from django.utils import timezone

from payroll import services
from zea.workflows import engine


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=3,
    soft_time_limit=240,
    time_limit=300,
)
def generate_report(report_id: str) -> str:
    return services.generate(report_id)


@shared_task(acks_late=True, ignore_result=True)
def monthly_report() -> str:
    """Beat, 1st of the month 03:00 local: last month's report (idempotent per month)."""
    month = services.previous_month(timezone.localdate())
    report, _ = services.request_report(month=month, actor=engine.SYSTEM_BEAT)
    return str(report.pk)
