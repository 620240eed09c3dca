"""Accounts in the admin: athletes come from registering, never from the add form."""

import pytest
from django.urls import reverse

from tests.conftest import register_athlete
from zea.accounts.models import Athlete, Coach

pytestmark = pytest.mark.django_db


def test_staff_cannot_add_an_athlete_without_its_onboarding(admin_client, django_user_model):
    user = django_user_model.objects.create_user("loose@example.com", "loose@example.com", "x")
    url = reverse("admin:accounts_athlete_add")
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"user": user.pk}).status_code == 403
    assert not Athlete.objects.filter(user=user).exists()
    # a registered athlete is still there to see and edit
    athlete = register_athlete().athlete
    assert admin_client.get(reverse("admin:accounts_athlete_change", args=[athlete.pk])).status_code == 200
    changelist = admin_client.get(reverse("admin:accounts_athlete_changelist"))
    assert changelist.status_code == 200 and url.encode() not in changelist.content


def test_staff_cannot_make_an_athlete_a_coach_too(admin_client, django_user_model):
    athlete = register_athlete().athlete
    url = reverse("admin:accounts_coach_add")
    response = admin_client.post(url, {"user": athlete.user_id, "hourly_rate": "30.00"})
    assert response.status_code == 200 and b"a coach needs a login of its own" in response.content
    assert not Coach.objects.filter(user_id=athlete.user_id).exists()
    loose = django_user_model.objects.create_user("coach-to-be@example.com", "coach-to-be@example.com", "x")
    assert admin_client.post(url, {"user": loose.pk, "hourly_rate": "30.00"}).status_code == 302
    assert Coach.objects.filter(user=loose).exists()
