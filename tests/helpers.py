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
