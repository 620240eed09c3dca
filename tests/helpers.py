import time


def wait_until(predicate, timeout=15.0, interval=0.05):
    """Poll `predicate` until it returns truthy; return its value or fail after `timeout`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def race(*actions):
    """Run `actions` in threads released together (real transactions); return what each
    raised, or None."""
    return [outcome if isinstance(outcome, Exception) else None for outcome in race_results(*actions)]


def race_results(*actions):
    """Run `actions` in threads released together (real transactions); return what each
    returned, or the exception it raised. Each thread closes its own database connection."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = action()
        except Exception as exc:  # noqa: BLE001 — handed to the test, which asserts on it
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
