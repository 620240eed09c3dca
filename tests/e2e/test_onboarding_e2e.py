"""Onboarding end to end on real processes, with a seconds-long deadline."""

import pytest


@pytest.mark.stack_env(ZEA_ONBOARDING_TIMEOUT="3s", ZEA_ONBOARDING_REMINDERS="50%")
def test_an_athlete_who_never_completes_the_profile_expires_and_loses_access(stack):
    stack.start("web", "worker", "beat")
    waiting = stack.register()
    done = stack.register()
    status, _ = stack.call(
        "PUT",
        "/api/athletes/me/profile/",
        {
            "date_of_birth": "1990-01-01",
            "phone": "+34600111222",
            "sport": "tennis",
            "emergency_contact_name": "Pep",
            "emergency_contact_phone": "+34600333444",
        },
        token=done["token"],
    )
    assert status == 200
    stack.wait(
        lambda: stack.call("GET", "/api/onboarding/me/", token=waiting["token"])[0] == 401,
        timeout=20,
        what="the expired athlete's token to be refused",
    )
    status, timeline = stack.call("GET", f"/api/workflows/{waiting['execution_id']}/", token=stack.staff_token)
    assert status == 200 and timeline["state"] == "expired"
    assert [e["target"] for e in timeline["events"]].count("expired") == 1
    assert timeline["events"][-1]["actor"] == "system:timer"
    status, other = stack.call("GET", "/api/onboarding/me/", token=done["token"])
    assert status == 200 and other["state"] == "completed"
    # welcome, one reminder at half-time, the expiry notice; the other athlete: welcome only
    stack.wait(lambda: len(stack.sent_mail(waiting["email"])) == 3, timeout=15, what="the emails")
    subjects = [m.split("Subject: ")[1].splitlines()[0] for m in stack.sent_mail(waiting["email"])]
    assert sorted(subjects) == [
        "Complete your ZEA Sport profile",
        "Reminder: your ZEA Sport profile is still incomplete",
        "Your ZEA Sport registration expired",
    ]
    assert len(stack.sent_mail(done["email"])) == 1
    assert stack.manage("zea", "verify").returncode == 0
