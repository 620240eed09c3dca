"""The engine's beat entries, kept in django-celery-beat's tables so staff can see them."""

from django.conf import settings


def ensure_periodic_tasks(apps=None, **kwargs) -> None:
    """Create or update the sweeper's entry to match ZEA_SWEEP_INTERVAL (after migrate)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if not beat_migrated(apps):
        return

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


def beat_migrated(apps=None) -> bool:
    """Whether django-celery-beat's tables exist in the state after this migrate (`apps`,
    from post_migrate; None outside a migrate). A partial one (`migrate workflows 0002`)
    may not have made them yet. The entries are written with the real models all the
    same: their save() tells a running beat that an entry changed."""
    if apps is None:
        return True
    try:
        apps.get_model("django_celery_beat", "PeriodicTask")
    except LookupError:
        return False
    return True
