"""The admin: state counts, the timeline, and a reopen button that goes through the service."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from onboarding.models import Onboarding
from zea.accounts.models import User
from zea.workflows import sweeper
from zea.workflows.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    user = User.objects.create_superuser("root-admin", "root@example.com", "x-admin-pass-1")
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_the_list_shows_counts_per_state_and_filters_overdue(admin_client, onboarding):
    page = admin_client.get("/admin/onboarding/onboarding/")
    assert page.status_code == 200
    assert b"awaiting_profile</b>: 1" in page.content
    assert admin_client.get("/admin/onboarding/onboarding/?overdue=yes").context["cl"].result_count == 0


def test_reopen_button_on_an_expired_onboarding_goes_through_the_service(admin_client, onboarding):
    with time_machine.travel(timezone.now() + timedelta(days=8), tick=False):
        sweeper.sweep()
    url = f"/admin/onboarding/onboarding/{onboarding.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"_fsm_transition_to" in page.content and b"reopen" in page.content
    assert b"complete_profile" not in page.content  # only staff-facing transitions get a button
    assert b"zea-timeline" in page.content

    response = admin_client.post(url, {"_fsm_transition_to": "reopen"})
    assert response.status_code == 302
    assert Onboarding.objects.get(pk=onboarding.pk).state == "awaiting_profile"
    assert User.objects.get(pk=onboarding.athlete.user_id).is_active
    last = AuditEvent.objects.filter(execution_id=onboarding.pk).order_by("-seq").first()
    assert (last.transition, last.actor) == ("reopen", f"user:{admin_client.user.pk}")


def test_no_button_where_no_staff_transition_applies(admin_client, onboarding):
    page = admin_client.get(f"/admin/onboarding/onboarding/{onboarding.pk}/change/")
    assert b"_fsm_transition_to" not in page.content


def test_audit_events_are_read_only_in_the_admin(admin_client, onboarding):
    event = AuditEvent.objects.filter(execution_id=onboarding.pk).first()
    assert admin_client.get("/admin/workflows/auditevent/").status_code == 200
    assert admin_client.post(f"/admin/workflows/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
