"""Accounts in the admin: athletes come from registering, never from the add form."""

import pytest
from django.urls import reverse

from tests.conftest import register_athlete
from zea.accounts.models import Athlete

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
