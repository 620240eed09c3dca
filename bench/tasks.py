"""No-op tasks: the Celery baselines (round trip, chord) measured beside our figures."""

from celery import shared_task


@shared_task(ignore_result=False)
def noop(*args):
    return None
