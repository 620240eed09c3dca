"""The worker keeps its PostgreSQL connections between tasks, as the web does between requests."""

import time


def _sessions(stack) -> int:
    """Connections ever opened to the stack's database (this query's own included)."""
    ((count,),) = stack.sql("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
    return count


def test_the_worker_does_not_open_a_connection_per_task(stack):
    # Celery's Django fix-up closes a task's connection before and after it unless told
    # otherwise: each doorbell task below would then open one.
    stack.start("web", "worker")
    registered = []
    before = _sessions(stack)
    for _ in range(12):
        registered.append(stack.register())
        stack.wait(lambda: stack.sent_mail(registered[-1]["email"]), timeout=15, what="the welcome email")
        time.sleep(0.05)  # past the doorbell's linger: the next email needs a task of its own
    opened = _sessions(stack) - before
    assert all(len(stack.sent_mail(r["email"])) == 1 for r in registered)
    # The web's two workers and the worker's two threads may each open one, and the
    # count above opens its own (without the setting: 14 here, one per task and more).
    assert opened <= 6, f"{opened} connections for 12 registrations and their 12 email tasks"
