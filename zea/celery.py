"""The Celery app: configured from Django settings (CELERY_ namespace)."""

import os

from celery import Celery
from celery.signals import beat_init, task_postrun, task_prerun, worker_ready
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zea.settings")

app = Celery("zea")
app.config_from_object("django.conf:settings", namespace="CELERY")
# One queue per kind of work so a payroll batch or an email storm cannot starve timers.
app.conf.task_queues = [Queue(name) for name in ("default", "timers", "notifications", "reports")]
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_db_connections(task=None, **kwargs):
    """Around a task, what Django does around a request: close the thread's connections
    that are broken or older than CONN_MAX_AGE, and keep the others (see
    CELERY_DB_REUSE_MAX). Not for a task run eagerly, inside its caller's transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_ready.connect
def sweep_at_worker_start(sender=None, **kwargs):
    """Fire whatever came due while no worker was running (timers lost with Redis too)."""
    sender.app.send_task("zea.workflows.tasks.sweep", queue="timers", ignore_result=True)


@beat_init.connect
def sync_beat_schedule(sender=None, **kwargs):
    """The sweeper's entry follows ZEA_SWEEP_INTERVAL of the beat that runs it (not only
    the one that ran migrate)."""
    from zea.workflows.schedule import ensure_periodic_tasks

    ensure_periodic_tasks()
