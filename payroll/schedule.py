"""The monthly beat entry, kept in django-celery-beat so staff can see and edit it."""

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
