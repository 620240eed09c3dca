"""Staff reopen an expired onboarding in the admin, in a real headless Chromium.

The stack runs as in production (gunicorn, a Celery worker, beat, PostgreSQL, Redis) with a
two-second onboarding deadline; once the athlete has expired, worker and beat stop so the
reopened onboarding stays put while the browser looks at it."""

import re

import pytest

from tests.browser.conftest import chromium_missing
from tests.e2e.stack import STAFF

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or ""),
]


@pytest.mark.stack_env(ZEA_ONBOARDING_TIMEOUT="2s", DJANGO_SETTINGS_MODULE="tests.browser.settings")
def test_staff_reopen_an_expired_onboarding_and_the_timeline_shows_it(stack, page):
    from playwright.sync_api import expect

    stack.start("web", "worker", "beat")
    athlete = stack.register()
    execution = athlete["execution_id"]

    def state():
        status, body = stack.call("GET", f"/api/workflows/{execution}/", token=stack.staff_token)
        assert status == 200, body
        return body

    stack.wait(lambda: state()["state"] == "expired", timeout=30, what="the onboarding to expire")
    stack.stop("beat")
    stack.stop("worker")  # the reopened deadline (2s again) must not fire while we look

    # Log in through the admin's own form, landing on the onboarding's change page.
    change = f"/admin/onboarding/onboarding/{execution}/change/"
    page.goto(f"/admin/login/?next={change}")
    expect(page).to_have_title(re.compile("Log in"))
    page.fill("#id_username", STAFF[0])
    page.fill("#id_password", STAFF[1])
    page.click("input[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(change) + "$"))
    expect(page.locator("link[href*='admin/css/base.css']")).to_have_count(1)
    expect(page.locator("#header")).not_to_have_css("display", "inline")  # styled: the admin's CSS loaded

    # The timeline: registration, then the system's expiry as the last event.
    timeline = page.locator("ol.zea-timeline > li")
    expect(page.locator(".zea-state")).to_have_text("expired")
    expect(timeline).to_have_count(2)
    expect(timeline.last).to_contain_text("expire: awaiting_profile → expired")
    expect(timeline.last).to_contain_text("system:timer")
    expect(page.locator(".field-state .readonly")).to_have_text(re.compile("expired", re.I))  # the label

    # The one staff transition from "expired": press it.
    reopen = page.get_by_role("button", name="Reopen (new deadline, account active)")
    expect(reopen).to_have_attribute("value", "reopen")
    reopen.click()

    # Back on the same page: the new state, a success message, and the reopen at the end of the timeline.
    expect(page).to_have_url(re.compile(re.escape(change) + "$"))
    expect(page.locator("ul.messagelist .success")).to_contain_text(re.compile("reopen: done", re.I))
    expect(page.locator(".zea-state")).to_have_text("awaiting_profile")
    expect(page.locator(".field-state .readonly")).to_have_text(re.compile("awaiting.profile", re.I))
    expect(timeline).to_have_count(3)
    expect(timeline.last).to_contain_text("reopen: expired → awaiting_profile")
    (admin_id,) = stack.sql("SELECT id FROM accounts_user WHERE username = %s", (STAFF[0],))[0]
    expect(timeline.last).to_contain_text(f"by {STAFF[0]} (user:{admin_id})")
    expect(page.locator("ul.zea-timers")).to_contain_text("deadline (deadline)")
    expect(page.get_by_role("button", name=re.compile("Reopen"))).to_have_count(0)  # nothing left to reopen
    page.screenshot(path=str(stack.logdir / "browser-after-reopen.png"), full_page=True)

    # The database and the HTTP timeline agree with what the page shows.
    body = state()
    assert body["state"] == "awaiting_profile"
    assert [(e["transition"], e["target"]) for e in body["events"]] == [
        (body["events"][0]["transition"], "awaiting_profile"),
        ("expire", "expired"),
        ("reopen", "awaiting_profile"),
    ]
    assert body["events"][-1]["actor"] == f"user:{admin_id}"
    assert stack.sql("SELECT state FROM onboarding_onboarding WHERE execution_id = %s", (execution,)) == [
        ("awaiting_profile",)
    ]
    assert stack.sql(
        "SELECT u.is_active FROM accounts_user u JOIN accounts_athlete a ON a.user_id = u.id WHERE a.id = %s",
        (athlete["athlete_id"],),
    ) == [(True,)]
