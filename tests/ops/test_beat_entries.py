"""The beat entries written after migrate: by a full one, and left for later by a partial
one that has not made django-celery-beat's tables yet (`migrate workflows 0002` on a new
database used to fail there)."""

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_celery_beat.models import PeriodicTask

from payroll import schedule as payroll_schedule
from zea.workflows import schedule

pytestmark = pytest.mark.django_db

ENTRIES = {"zea: sweep timers and outbox", payroll_schedule.TASK_NAME}


def state_after(app_label: str, migration: str):
    """The models as they stand once `migrate <app_label> <migration>` has run."""
    return MigrationLoader(connection).project_state((app_label, migration)).apps


def write_entries(apps) -> set[str]:
    PeriodicTask.objects.filter(name__in=ENTRIES).delete()
    schedule.ensure_periodic_tasks(apps=apps)
    payroll_schedule.ensure_monthly_entry(apps=apps)
    return set(PeriodicTask.objects.filter(name__in=ENTRIES).values_list("name", flat=True))


def test_a_partial_migrate_leaves_the_entries_for_later():
    apps = state_after("workflows", "0002_audit_append_only")
    with pytest.raises(LookupError):
        apps.get_model("django_celery_beat", "PeriodicTask")
    assert write_entries(apps) == set()


def test_a_migrate_that_made_beats_tables_writes_both_entries():
    loader = MigrationLoader(connection)
    assert write_entries(loader.project_state().apps) == ENTRIES
