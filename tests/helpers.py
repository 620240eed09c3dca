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


def plans(sql: str, params: list, *, types: list[str], literals: list[str]) -> dict[str, str]:
    """PostgreSQL's plans for `sql` (with `%s` placeholders): the custom one, made for
    these `params`, and the generic one a prepared statement switches to after five runs,
    made for any (`types` and `literals` describe the same values in SQL for PREPARE and
    EXECUTE, which take no bound parameters)."""
    from django.db import connection, transaction

    numbered = sql
    for position in range(1, len(types) + 1):
        numbered = numbered.replace("%s", f"${position}", 1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        custom = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"PREPARE zea_plan_check ({', '.join(types)}) AS {numbered}")
        try:
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            cursor.execute(f"EXPLAIN EXECUTE zea_plan_check ({', '.join(literals)})")
            generic = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE zea_plan_check")
    return {"custom": custom, "generic": generic}
