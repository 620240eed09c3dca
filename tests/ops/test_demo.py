"""`manage.py demo` seeds every state, creates nothing the second time, and verifies green."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from bookings.models import Booking, Slot
from onboarding.models import Onboarding
from payroll.models import PayrollReport
from sessions.models import Review, TrainingSession

pytestmark = pytest.mark.django_db


def row_counts() -> dict:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_demo_twice_creates_nothing_new_and_verifies():
    call_command("demo", stdout=StringIO())
    first = row_counts()
    call_command("demo", stdout=StringIO())
    assert row_counts() == first

    assert set(Onboarding.objects.values_list("state", flat=True)) == set(Onboarding.State.values)
    assert set(TrainingSession.objects.values_list("state", flat=True)) == set(TrainingSession.State.values)
    assert set(Review.objects.values_list("state", flat=True)) == set(Review.State.values)
    assert set(Booking.objects.values_list("state", flat=True)) == set(Booking.State.values)
    assert Slot.objects.values("coach").distinct().count() == 2
    report = PayrollReport.objects.get()
    assert report.state == "ready" and report.totals and report.csv.count("\n") > 1

    out = StringIO()
    call_command("zea", "verify", stdout=out, stderr=StringIO())  # exits 1 on any broken execution
    assert "chains intact" in out.getvalue()
