"""The admin dashboard: staff only; every number matches the admin list it links to."""

from decimal import Decimal

import pytest
from django.test import Client

from tests.conftest import PASSWORD, register_athlete
from tests.ops.conftest import overdue_onboarding, recorded_session_without_reviews, stuck_generating_report
from zea.workflows import dashboard

pytestmark = pytest.mark.django_db
URL = "/admin/dashboard/"


def listed(client, url) -> int:
    """How many rows the admin changelist at `url` shows (failing on a refused filter)."""
    page = client.get(url)
    assert page.status_code == 200, url
    assert "e=1" not in page.get("Location", ""), url
    return page.context["cl"].result_count


def test_anonymous_and_non_staff_are_sent_to_the_login(django_user_model):
    response = Client().get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    athlete = register_athlete().athlete.user
    client = Client()
    client.force_login(athlete)
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.login(username=athlete.username, password=PASSWORD)
    assert Client().get("/admin/diagrams/").status_code == 302


def test_every_number_links_to_a_list_of_exactly_those_rows(admin_client, coach_obj):
    register_athlete(complete=True)
    register_athlete()
    overdue_onboarding()
    stuck_generating_report()
    recorded_session_without_reviews(coach_obj, minutes=90)

    page = admin_client.get(URL)
    assert page.status_code == 200
    ctx = page.context
    figures = [
        *(figure for wf in ctx["workflows"] for figure in (wf.total, *wf.states)),
        *ctx["timers"],
        *ctx["outbox"],
        *ctx["funnel"],
    ]
    for figure in figures:
        assert listed(admin_client, figure.url) == figure.value, figure
        assert figure.url.replace("&", "&amp;") in page.content.decode()
    for group in ctx["stuck"]:
        assert listed(admin_client, group.url) == group.count, group.kind

    by_kind = {group.kind: group.count for group in ctx["stuck"]}
    assert by_kind["timer_overdue"] == 1
    assert by_kind["payroll_generating"] == 1
    assert by_kind["session_reviews_not_opened"] == 1
    assert by_kind["outbox_failed"] == 0
    assert ctx["stuck_total"] == 3

    funnel = {figure.label: figure.value for figure in ctx["funnel"]}
    assert funnel == {"registered": 4, "completed": 2, "expired": 0, "awaiting profile": 2}
    states = {wf.workflow_type: {f.label: f.value for f in wf.states} for wf in ctx["workflows"]}
    assert states["session"]["time_recorded"] == 1 and states["payroll"]["generating"] == 1


def test_payable_hours_sum_this_months_recorded_minutes(admin_client, coach_obj):
    recorded_session_without_reviews(coach_obj, minutes=90)
    recorded_session_without_reviews(coach_obj, minutes=45)
    payable = admin_client.get(URL).context["payable"]
    assert payable.value == Decimal("2.25") and payable.note == "135 min"
    assert listed(admin_client, payable.url) == 2


def test_the_stuck_thresholds_leave_fresh_work_alone(admin_client, coach_obj):
    overdue_onboarding(late=dashboard.sweep_grace() / 2)  # late, but the sweeper still has time
    assert sum(group.count for group in dashboard.stuck()) == 0


def test_the_admin_index_links_to_the_dashboard_and_diagrams(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert 'href="/admin/dashboard/"' in page and 'href="/admin/diagrams/"' in page
    diagrams = admin_client.get("/admin/diagrams/").content.decode()
    assert diagrams.count('workflow states">') == 5  # one SVG per workflow
