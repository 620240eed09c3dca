"""The engine's beat entries, kept in django-celery-beat's tables so staff can see them."""

from django.conf import settings


def ensure_periodic_tasks(**kwargs) -> None:
    """Create or update the sweeper's entry to match ZEA_SWEEP_INTERVAL (after migrate)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    seconds = max(1, int(settings.ZEA_SWEEP_INTERVAL.total_seconds()))
    interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="zea: sweep timers and outbox",
        defaults={
            "task": "zea.workflows.tasks.sweep",
            "interval": interval,
            "crontab": None,
            "queue": "timers",
            "enabled": True,
            "description": "Fires due timers, re-enqueues lost emails, repairs stalled workflows.",
        },
    )
