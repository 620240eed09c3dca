"""A request's writes gathered into one statement.

Each data-modifying statement becomes a top-level part of one `WITH … SELECT …`, which
PostgreSQL runs to completion whatever the SELECT reads. A booking writes a debit, a
ledger row, the place, two executions with their events and two emails: one round trip
instead of four, and the slot's lock is held for two round trips (that statement and the
COMMIT) instead of five, which is what a hot slot's bookings queue behind.

Inside `together()` the engine adds its writes to the open batch instead of running them,
so nothing in the block may read back what the batch has not run yet. The parts see one
snapshot (the one before the statement) and the foreign keys between them are checked at
commit; a constraint that refuses a row refuses the whole statement, from `run()`.
"""

import contextvars
import itertools
import re
from collections.abc import Iterable
from contextlib import contextmanager
from functools import lru_cache

import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

_open: contextvars.ContextVar["WriteBatch | None"] = contextvars.ContextVar("zea_write_batch", default=None)


class WriteBatch:
    def __init__(self):
        self._parts: list[tuple[str, str, list]] = []  # (name, text, params)
        self._keyed: list[tuple[str, object]] = []  # parts returning an instance's generated key

    def add(self, text: str, params: Iterable = (), *, name: str | None = None, key_of=None) -> str:
        """Add one statement; return its name (`w0`, `w1`… unless given), by which later
        parts and `run`'s select may read what it returns. With `key_of`, the instance's
        generated primary key is set when the batch runs."""
        name = name or f"w{len(self._parts)}"
        if key_of is not None:
            text = _returning_key(text, type(key_of))
            self._keyed.append((name, key_of))
        self._parts.append((name, text, list(params)))
        return name

    def run(self, select: str = "", params: Iterable = ()) -> tuple:
        """Run every part added so far as one statement; return what `select` (a list of
        SQL expressions, which may read the parts by name) gives."""
        keys = tuple(name for name, _ in self._keyed)
        numbered, text = _statement(tuple((name, text) for name, text, _ in self._parts), select, keys)
        values = [*(value for _, _, part_params in self._parts for value in part_params), *params]
        with _numbered_cursor() as cursor:
            if isinstance(cursor, _LoggedCursor):
                cursor.execute_numbered(numbered, text, values)
            else:
                cursor.execute(numbered, values)
            row = cursor.fetchone()
        selected = len(row) - len(keys)
        for (_, instance), key in zip(self._keyed, row[selected:], strict=True):
            instance.pk = key
        self._parts, self._keyed = [], []
        return row[:selected] if select else ()


@lru_cache(maxsize=128)
def _returning_key(text: str, model) -> str:
    return f"{text} RETURNING {connection.ops.quote_name(model._meta.pk.column)}"


@lru_cache(maxsize=128)
def _statement(parts: tuple[tuple[str, str], ...], select: str, keys: tuple[str, ...]) -> tuple[str, str]:
    """The statement's text, made once per shape, with PostgreSQL's own `$n` placeholders
    (and with `%s` ones, for the query log).

    psycopg turns `%s` into `$n` by parsing the text on every call when it is as long, and
    has as many parameters, as a booking's (it caches only short ones); that parse cost
    more than the round trips the batch saves.
    """
    columns = ", ".join(column for column in (select, *(f"(SELECT * FROM {key})" for key in keys)) if column)
    ctes = ", ".join(f"{name} AS ({text})" for name, text in parts)
    text = f"WITH {ctes} SELECT {columns or '1'}" if parts else f"SELECT {columns or '1'}"
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(lambda m: "%" if m.group(1) == "%" else f"${next(numbers)}", text), text


_PLACEHOLDER = re.compile(r"%(%|s)")


class _LoggedCursor(CursorDebugWrapper):
    """Where Django logs queries (DEBUG, the tests' CaptureQueriesContext), the statement
    is logged in its `%s` form: Django renders a logged statement by binding `%s`
    placeholders on the client, which `$n` ones would break."""

    def execute_numbered(self, numbered: str, text: str, params: list):
        with self.debug_sql(self.db.ops.compose_sql(text, params), params):
            return CursorWrapper.execute(self, numbered, params)


def _numbered_cursor() -> CursorWrapper:
    """A Django cursor (errors translated, execute wrappers run) over a psycopg cursor that
    sends `$n` placeholders as they are."""
    connection.ensure_connection()
    raw = psycopg.RawCursor(connection.connection)
    return _LoggedCursor(raw, connection) if connection.queries_logged else connection.make_cursor(raw)


@contextmanager
def together():
    """Gather the engine's writes in the block into one statement, run by `run()` or at
    the end of the block; nothing is run if the block raises. A nested block joins the
    open one."""
    batch = _open.get()
    if batch is not None:
        yield batch
        return
    batch = WriteBatch()
    token = _open.set(batch)
    try:
        yield batch
        if batch._parts:
            batch.run()
    finally:
        _open.reset(token)


def current() -> WriteBatch | None:
    return _open.get()
