"""Fixtures for the operators' surfaces: an admin client, and one of each stuck kind."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from payroll import services as payroll
from payroll.models import PayrollReport
from sessions.models import TrainingSession
from tests.conftest import register_athlete
from tests.sessions.conftest import book_session, record
from zea.accounts.models import User
from zea.workflows import engine
from zea.workflows.models import Timer


@pytest.fixture
def admin_client(db):
    user = User.objects.create_superuser("ops-admin", "ops@example.com", "x-ops-pass-1")
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def overdue_onboarding(late=timedelta(minutes=10)):
    """An onboarding whose deadline passed `late` ago and nobody fired it (no sweeper)."""
    onboarding = register_athlete()
    Timer.objects.filter(execution_id=onboarding.pk, name="deadline").update(due_at=timezone.now() - late)
    return onboarding


def stuck_generating_report(month="2020-01-01"):
    """A payroll report whose worker died while generating, 20 minutes ago."""
    report, _ = payroll.request_report(month=date.fromisoformat(month), actor="system:test")
    report = engine.transition(report, "generate", actor=engine.SYSTEM_WORKER)
    PayrollReport.objects.filter(pk=report.pk).update(updated_at=timezone.now() - timedelta(minutes=20))
    return report


def recorded_session_without_reviews(coach, minutes=60):
    """A session whose time was recorded 5 minutes ago and whose review chord was lost."""
    session = record(book_session(coach), minutes=minutes)
    TrainingSession.objects.filter(pk=session.pk).update(time_recorded_at=timezone.now() - timedelta(minutes=5))
    return TrainingSession.objects.get(pk=session.pk)
