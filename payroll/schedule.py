"""The monthly beat entry, kept in django-celery-beat so staff can see and edit it."""

from datetime import datetime, timedelta

from django.conf import settings

from zea.workflows.schedule import beat_migrated

TASK_NAME = "zea: monthly payroll report"


def ensure_monthly_entry(apps=None, **kwargs) -> None:
    """Create the entry (1st of each month, 03:00 in ZEA_TIME_ZONE) if missing; staff edits stay."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    if not beat_migrated(apps) or PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_month="1", month_of_year="*", day_of_week="*", timezone=settings.ZEA_TIME_ZONE
    )
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task="payroll.tasks.monthly_report",
        crontab=crontab,
        queue="reports",
        description="Last month's payroll report from the real recorded session times; emails the CSV.",
    )


def this_months_run(now: datetime) -> datetime | None:
    """When the monthly entry was (or will be) due first this month, in its own schedule
    as staff may have edited it; None while it is disabled or gone."""
    from django_celery_beat.models import PeriodicTask

    entry = PeriodicTask.objects.select_related("crontab").filter(name=TASK_NAME, enabled=True).first()
    if entry is None or entry.crontab is None:
        return None
    schedule = entry.crontab.schedule
    month_start = now.astimezone(schedule.tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last, delta, _ = schedule.remaining_delta(month_start - timedelta(microseconds=1))
    return last + delta
