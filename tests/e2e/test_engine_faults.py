"""Break the running stack on purpose; every timer still fires exactly once."""

import time

import pytest

FAST = {"ZEA_ONBOARDING_TIMEOUT": "4s", "ZEA_ONBOARDING_REMINDERS": "50%"}


def _all_expired_once(stack, execution_ids):
    return stack.each_once(execution_ids, target="expired")


@pytest.mark.stack_env(**FAST)
def test_redis_flushed_with_timers_pending_loses_no_timer(stack):
    stack.start("web", "worker", "beat")
    ids = [stack.register()["execution_id"] for _ in range(10)]
    stack.flush_redis()  # every ETA task and queued email is gone
    stack.wait(lambda: _all_expired_once(stack, ids), timeout=30, what="every onboarding to expire once")
    time.sleep(2)  # later sweeps and any stray redelivery change nothing
    assert _all_expired_once(stack, ids)
    assert stack.manage("zea", "verify").returncode == 0


@pytest.mark.stack_env(**FAST)
def test_worker_killed_mid_work_then_restarted_completes_everything_once(stack):
    stack.start("web", "worker", "beat")
    registered = [stack.register() for _ in range(15)]
    ids = [r["execution_id"] for r in registered]
    time.sleep(3.5)  # reminders fired and deadlines about to fire
    stack.kill("worker")
    time.sleep(2)  # deadlines pass while no worker runs
    stack.start("worker")
    stack.wait(lambda: _all_expired_once(stack, ids), timeout=30, what="every onboarding to expire once")
    stack.wait(
        lambda: all(len(stack.sent_mail(r["email"])) == 3 for r in registered),
        timeout=30,
        what="welcome, reminder and expiry emails for everyone",
    )
    time.sleep(2)
    assert all(len(stack.sent_mail(r["email"])) == 3 for r in registered)  # and none twice
    assert stack.manage("zea", "verify").returncode == 0


@pytest.mark.stack_env(**FAST)
def test_beat_down_for_several_deadlines_catches_up_once_restarted(stack):
    stack.start("web", "worker")
    ids = [stack.register()["execution_id"] for _ in range(8)]
    stack.flush_redis()  # no ETA task left: only a sweep can fire these now
    time.sleep(6)
    assert stack.event_counts(ids, target="expired") == {}  # nothing fired while beat was down
    stack.start("beat")
    stack.wait(lambda: _all_expired_once(stack, ids), timeout=30, what="the catch-up")
    assert stack.manage("zea", "verify").returncode == 0


def _held_timers(stack) -> set[str]:
    """fire_timer messages the worker has received and not yet run: ETA tasks it holds unacked."""
    received, done = set(), set()
    for line in stack.log("worker").splitlines():
        if "fire_timer[" in line:
            task_id = line.split("fire_timer[")[1].split("]")[0]
            (received if line.endswith(" received") else done).add(task_id)
    return received - done


@pytest.mark.stack_env(ZEA_ONBOARDING_TIMEOUT="8s", ZEA_ONBOARDING_REMINDERS="50%")
def test_redis_restarted_while_the_worker_holds_timers_the_same_worker_fires_them(stack):
    stack.start("web", "worker", "beat")
    worker = stack.procs["worker"]
    registered = [stack.register() for _ in range(3)]
    ids = [r["execution_id"] for r in registered]
    # A broker that drops while the worker holds ETA messages must not take the worker
    # down with it: Celery 5.7.0's worker closed its broken connection twice and died.
    stack.wait(lambda: _held_timers(stack), timeout=15, interval=0.02, what="the worker to hold a timer")
    stack.redis_down()
    time.sleep(1)
    stack.redis_up()  # empty: the held timers' messages are gone from the broker
    stack.wait(
        lambda: _all_expired_once(stack, ids),
        timeout=40,
        what="every onboarding to expire once",
        seen=lambda: f"the worker's exit code {worker.poll()}",
    )
    assert worker.poll() is None, "the worker died with the broker"
    stack.wait(
        lambda: all(len(stack.sent_mail(r["email"])) == 3 for r in registered),
        timeout=30,
        what="welcome, reminder and expiry emails for everyone",
    )
    assert stack.manage("zea", "verify").returncode == 0
