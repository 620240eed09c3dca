"""`zea status` (table, --json, --watch), `zea stuck`, `zea diagrams --check`, `zea payroll`."""

import json

import pytest
from django.core.management import call_command

from tests.conftest import register_athlete
from tests.ops.conftest import overdue_onboarding, recorded_session_without_reviews, stuck_generating_report

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("zea", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_status_is_a_table():
    register_athlete(complete=True)
    register_athlete()
    lines = run("status").splitlines()
    assert lines[0].startswith("ZEA status at ")
    assert lines[1].split() == ["WORKFLOW", "TOTAL", "STATES"]
    onboarding = next(line for line in lines if line.split()[0] == "onboarding")
    assert onboarding.split() == ["onboarding", "2", "awaiting_profile=1", "completed=1", "expired=0"]
    # Columns line up: every row's total ends where the TOTAL header ends.
    end = lines[1].index("TOTAL") + len("TOTAL")
    assert all(line[end - 1].isdigit() and line[end] == " " for line in lines[2:])
    assert any(line.split()[:2] == ["stuck", "0"] for line in lines)


def test_status_json_keeps_its_keys():
    register_athlete()
    snap = json.loads(run("status", "--json"))
    assert {"at", "workflows", "timers", "outbox"} <= snap.keys()
    assert snap["workflows"]["onboarding"]["awaiting_profile"] == 1 and snap["stuck"] == 0


def test_status_watch_refreshes_count_times():
    out = run("status", "--watch", "0.01", "--count", "2")
    assert out.count("ZEA status at") == 2
    assert run("status", "--watch", "--count", "1").count("ZEA status at") == 1
    assert len(run("status", "--json", "--watch", "0", "--count", "1").strip().splitlines()) > 1


def test_stuck_lists_what_needs_a_human(coach_obj):
    assert "nothing needs a human" in run("stuck")
    onboarding = overdue_onboarding()
    report = stuck_generating_report()
    session = recorded_session_without_reviews(coach_obj)
    out = run("stuck")
    assert str(onboarding.pk) in out and "timer deadline due 10min ago" in out
    assert str(report.pk) in out and "generating since 20min ago" in out
    assert str(session.pk) in out and "review branches never opened" in out
    assert "/admin/workflows/timer/?" in out
    assert "stuck: 3 row(s) need a human" in out
    listed = {group["kind"]: group for group in json.loads(run("stuck", "--json"))}
    assert listed["timer_overdue"]["rows"][0]["execution_id"] == str(onboarding.pk)
    assert listed["timer_overdue"]["rows"][0]["state"] == "awaiting_profile"
    assert set(listed) == {"timer_overdue", "payroll_generating", "session_reviews_not_opened"}


def test_diagrams_check_passes_on_the_checked_in_files():
    assert "up to date" in run("diagrams", "--check")


def test_payroll_generates_a_month_here(coach_obj, capsys):
    from payroll.models import PayrollReport

    out = json.loads(run("payroll", "2020-03"))
    assert out["state"] == "ready" and PayrollReport.objects.get(month="2020-03-01").state == "ready"
    assert "already ready" in run("payroll", "2020-03")
    assert json.loads(run("payroll", "2020-03", "--regenerate"))["state"] == "ready"


def test_sweep_still_prints_its_result():
    overdue_onboarding()
    result = json.loads(run("sweep"))
    assert result["fired"] >= 1
