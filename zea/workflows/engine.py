"""The one way to start or move a workflow.

Inside one transaction: lock the row, check the transition, run it, save, append the
audit event, cancel/schedule timers and write outbox rows. Messages to Celery are sent
only after commit, and a failure to send them never reaches the caller: the rows are
the truth and the sweeper picks up whatever was not enqueued.
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from zea import rows as sql_rows
from zea.errors import NotFound, TransitionNotAllowed
from zea.workflows import audit, batch, dispatch
from zea.workflows.models import PENDING_TIMER_OF_EXECUTION, AuditEvent, OutboxMessage, Timer, Workflow

ALL = "__all__"


@dataclass(frozen=True)
class Schedule:
    """A timer to create: `name` is unique among the execution's pending timers."""

    name: str
    due_at: datetime
    deadline: bool = False


@dataclass(frozen=True)
class Email:
    """An outbox email; `template` names `<template>_subject.txt` and `<template>.txt`."""

    template: str
    to: list[str]
    context: dict = field(default_factory=dict)
    attachments: list[dict] = field(default_factory=list)
    language: str = ""


def actor_of(user) -> str:
    """The audit actor for a user: an id, never a name or email."""
    return f"user:{user.pk}" if user is not None and user.pk else "anonymous"


SYSTEM_TIMER = "system:timer"
SYSTEM_SWEEPER = "system:sweeper"
SYSTEM_WORKER = "system:worker"
SYSTEM_BEAT = "system:beat"


def lock(model: type[Workflow], execution_id, *, skip_locked: bool = False, shared: bool = False) -> Workflow | None:
    """Re-read a workflow row under a row lock (inside an atomic block).

    Every step starts here, so the query's text is made once per model rather than
    compiled by the ORM each time; the row becomes an instance as a queryset would make it.
    `shared` takes a share lock: it keeps the row from moving (a step needs the exclusive
    lock) without keeping other share-lockers out, for work beside the row, not on it.
    """
    text = _lock_template(model, skip_locked, shared)
    with connection.cursor() as cursor:
        cursor.execute(text, [model._meta.pk.get_db_prep_value(execution_id, cursor.db)])
        row = cursor.fetchone()
    return sql_rows.instance(model, row) if row is not None else None


# No savepoint when nested: a failure aborts the caller's transaction anyway, and
# savepoints cost two round trips each on every booking.
@transaction.atomic(savepoint=False)
def start(
    model: type[Workflow],
    *,
    actor: str,
    data: dict | None = None,
    schedule: Iterable[Schedule] = (),
    emails: Iterable[Email] = (),
    **fields,
) -> Workflow:
    """Create an execution in its initial state with its `start` event, timers and emails."""
    workflow = model(state=model.initial_state, version=model.definition_version, **fields)
    event = audit.new_event(
        workflow, transition=audit.START, source="", target=model.initial_state, actor=actor, data=data
    )
    _execute_together([_insert_sql(workflow), _insert_sql(event)])
    workflow._state.adding, workflow._state.db = False, connection.alias
    _effects(workflow, schedule=schedule, emails=emails)
    return workflow


def transition(
    workflow: Workflow,
    name: str,
    *,
    actor: str,
    data: dict | None = None,
    schedule: Iterable[Schedule] = (),
    cancel: Iterable[str] | str = (),
    emails: Iterable[Email] = (),
    refused_code: str | None = None,
    refused_detail: str | None = None,
    args: dict | None = None,
) -> Workflow:
    """Run transition `name` on the locked, fresh row and return it.

    Refuses with `TransitionNotAllowed` (409; `refused_code` if given) when the current
    state does not allow it. Entering a final state cancels every pending timer.
    """
    # The refusal is raised after the block: nothing was written yet, so the caller's
    # transaction stays usable (no savepoint needed, see `start`).
    with transaction.atomic(savepoint=False):
        locked, refusal = _transition(
            workflow,
            name,
            actor=actor,
            data=data,
            schedule=schedule,
            cancel=cancel,
            emails=emails,
            refused_code=refused_code,
            refused_detail=refused_detail,
            args=args,
        )
    if refusal is not None:
        raise refusal
    return locked


def _transition(workflow, name, *, actor, data, schedule, cancel, emails, refused_code, refused_detail, args):
    model = type(workflow)
    locked = lock(model, workflow.pk)
    if locked is None:
        return None, NotFound(
            _("No %(workflow)s execution %(id)s.") % {"workflow": model.workflow_type, "id": workflow.pk}
        )
    method = getattr(locked, name, None)
    if method is None or not hasattr(method, "_django_fsm"):
        raise ValueError(f"{model.__name__} has no transition {name!r}")
    if not can_proceed(method):
        return locked, TransitionNotAllowed(
            refused_detail
            or _("Cannot %(transition)s a %(workflow)s in state %(state)r.")
            % {"transition": name.replace("_", " "), "workflow": model.workflow_type, "state": locked.state},
            code=refused_code,
            state=locked.state,
        )
    source = locked.state
    method(**(args or {}))
    event = audit.new_event(locked, transition=name, source=source, target=locked.state, actor=actor, data=data)
    if locked.is_final:
        cancel = ALL
    _write_step(locked, event, cancel)
    _effects(locked, schedule=schedule, emails=emails)
    return locked, None


def _write_step(workflow: Workflow, event: AuditEvent, cancel: Iterable[str] | str) -> None:
    """The row's new values, its audit event and its cancelled timers in one statement.

    A step is on every request that moves a workflow; one round trip instead of three is
    most of what separates it from a bare UPDATE + INSERT, and the statement's text is
    made once per workflow model (the ORM would compile it on every step). Values still
    go through each field's `get_db_prep_save`, as in `save()`.
    """
    parts = [_update_sql(workflow), _insert_sql(event)]
    if cancel == ALL:
        parts.append((_cancel_timers_sql(by_name=False), [timezone.now(), workflow.pk]))
    elif cancel:
        parts.append((_cancel_timers_sql(by_name=True), [timezone.now(), workflow.pk, list(cancel)]))
    _execute_together(parts)


@cache
def _lock_template(model: type[Workflow], skip_locked: bool, shared: bool = False) -> str:
    quote = connection.ops.quote_name
    mode = "SHARE" if shared else "UPDATE"
    skip = " SKIP LOCKED" if skip_locked else ""
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    return f"SELECT {sql_rows.columns(model)} FROM {table} WHERE {pk} = %s FOR {mode}{skip}"


@cache
def _update_template(model: type[Workflow]) -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    return f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {quote(model._meta.pk.column)} = %s", fields


def _update_sql(instance) -> tuple[str, list]:
    """An UPDATE of every column but the primary key, like `save()` on an existing row."""
    model = type(instance)
    text, _ = _update_template(model)
    pk = model._meta.pk.get_db_prep_value(instance.pk, connection)
    return text, [*_db_values(instance, _model_plan(model, update=True), add=False), pk]


@cache
def _insert_template(model) -> tuple[str, tuple]:
    quote = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not (f.primary_key and f.db_returning))
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({values})", fields


def _insert_sql(instance) -> tuple[str, list]:
    """The INSERT of one instance whose primary key is set (or generated by the database)."""
    model = type(instance)
    text, _ = _insert_template(model)
    return text, _db_values(instance, _model_plan(model, update=False), add=True)


# Per kind of field, the Python types psycopg writes exactly as the field would prepare
# them; any other value (JSON, decimals, enums, naive datetimes, a date for a datetime)
# goes through the field's own `get_db_prep_save`. Preparing every value through its
# field was a third of a step's Python and most of the sweeper's writes after an outage.
_NONE = type(None)
_PLAIN = (
    (models.DateTimeField, frozenset({_NONE})),  # and aware datetimes, see _db_values
    (models.DateField, frozenset({date, _NONE})),
    ((models.CharField, models.TextField), frozenset({str, _NONE})),
    (models.BooleanField, frozenset({bool, _NONE})),
    (models.IntegerField, frozenset({int, _NONE})),
    (models.UUIDField, frozenset({uuid.UUID, _NONE})),
)


@lru_cache(maxsize=256)
def _value_plan(model, fields: tuple) -> tuple[tuple, tuple]:
    """Per field: (field, attname, the value types it may pass as they are, whether an
    aware datetime is one); and the fields whose `pre_save` sets a value (auto_now…)."""
    plan, stamped = [], []
    for f in fields:
        target = f.target_field if f.is_relation else f
        plain = next((types for kinds, types in _PLAIN if isinstance(target, kinds)), frozenset())
        plan.append((f, f.attname, plain, isinstance(target, models.DateTimeField)))
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            stamped.append(f)
        elif type(f).pre_save is not models.Field.pre_save and not isinstance(f, models.DateField):
            raise TypeError(f"{model.__name__}.{f.name}: a field with its own pre_save is not supported here")
    return tuple(plan), tuple(stamped)


@cache
def _model_plan(model, *, update: bool) -> tuple[tuple, tuple]:
    """The value plan of the model's UPDATE or INSERT template (looked up per model: a
    step makes two)."""
    return _value_plan(model, (_update_template if update else _insert_template)(model)[1])


def _db_values(instance, value_plan: tuple, *, add: bool, db=None) -> list:
    """What `save()` would send for the fields of `value_plan` (see `_value_plan`):
    `pre_save`, then `get_db_prep_save`, with plain values passed as they are."""
    db = db or connection
    plan, stamped = value_plan
    for f in stamped:
        f.pre_save(instance, add)
    values = []
    for f, attname, plain, aware in plan:
        value = getattr(instance, attname)
        kind = type(value)
        if kind not in plain and not (aware and kind is datetime and value.tzinfo is not None):
            value = f.get_db_prep_save(value, db)
        values.append(value)
    return values


# Above this many rows, COPY (with ids drawn from the sequence first) beats one INSERT.
COPY_FROM = 50


def insert_rows(instances: list) -> None:
    """Insert instances of one model and set their generated primary keys, like
    `bulk_create` but without compiling the INSERT on every call (it runs on every
    booking: timers, outbox emails). Inside `batch.together()`, each row is a part of
    the batch and gets its key when the batch runs."""
    if not instances:
        return
    model = type(instances[0])
    writes = batch.current()
    if writes is not None:  # keys are set when the batch runs
        for instance in instances:
            writes.add(*_insert_sql(instance), key_of=instance)
            instance._state.adding, instance._state.db = False, connection.alias
        return
    if len(instances) > COPY_FROM:
        copy_rows(model, instances, with_ids=True)
        return
    text, fields = _insert_returning_template(model, len(instances))
    with connection.cursor() as cursor:
        db = cursor.db
        value_plan = _value_plan(model, fields)
        cursor.execute(text, [value for i in instances for value in _db_values(i, value_plan, add=True, db=db)])
        for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
            instance.pk = pk
    for instance in instances:
        instance._state.adding, instance._state.db = False, connection.alias


@lru_cache(maxsize=256)
def _insert_returning_template(model, count: int) -> tuple[str, tuple]:
    text, fields = _insert_template(model)
    head, _, group = text.partition(" VALUES ")
    pk = connection.ops.quote_name(model._meta.pk.column)
    return f"{head} VALUES {', '.join([group] * count)} RETURNING {pk}", fields


def copy_rows(model, instances: list, *, with_ids: bool = False) -> None:
    """Write many instances with one COPY instead of an INSERT compiled by the ORM.

    For batch work: the ORM's bulk_create prepares and quotes every value of every row
    in Python, which costs more than the transitions themselves after an outage. With
    `with_ids`, generated primary keys are drawn from the table's sequence first and set
    on the instances (COPY cannot return them).
    """
    if not instances:
        return
    quote = connection.ops.quote_name
    _, fields = _insert_template(model)
    table, pk = quote(model._meta.db_table), model._meta.pk
    with connection.cursor() as cursor:
        if with_ids and pk not in fields:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [model._meta.db_table, pk.column, len(instances)],
            )
            for instance, (value,) in zip(instances, cursor.fetchall(), strict=True):
                instance.pk = value
            fields = (pk, *fields)
        columns = ", ".join(quote(f.column) for f in fields)
        db = cursor.db  # the connection itself: each use of the `connection` proxy is a thread-local lookup
        value_plan = _value_plan(model, fields)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for instance in instances:
                copy.write_row(_db_values(instance, value_plan, add=True, db=db))
    for instance in instances:
        instance._state.adding, instance._state.db = False, connection.alias


@cache
def _cancel_timers_sql(*, by_name: bool = False, many: bool = False) -> str:
    """Cancel the pending timers of one execution (or of many: an array of ids), all of
    them or those named. The pending condition is the form no partial index matches, so
    the execution_id index finds them whatever the statistics, in a custom plan or a
    generic one (see PENDING_TIMER_OF_EXECUTION)."""
    table = connection.ops.quote_name(Timer._meta.db_table)
    uuid_type = Timer._meta.get_field("execution_id").db_type(connection)
    execution = f"execution_id = ANY(%s::{uuid_type}[])" if many else "execution_id = %s"
    named = " AND name = ANY(%s)" if by_name else ""
    return f"UPDATE {table} SET cancelled_at = %s WHERE {execution} AND {PENDING_TIMER_OF_EXECUTION}{named}"


def _execute_together(parts: list[tuple[str, list]]) -> None:
    """Run data-modifying statements as one (PostgreSQL runs every WITH part to
    completion), or add them to the open `batch.together()`."""
    writes = batch.current()
    if writes is not None:
        for text, params in parts:
            writes.add(text, params)
        return
    ctes = ", ".join(f"s{i} AS ({text})" for i, (text, _) in enumerate(parts))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} SELECT 1", [param for _, params in parts for param in params])


# What `bulk_transition` reads of a row besides its primary key (for callers
# that lock many rows with `only()`).
BULK_FIELDS = ("state", "audit_seq", "audit_hash")


def bulk_transition(
    workflows: list[Workflow],
    name: str,
    *,
    actor: str,
    data: Callable[[Workflow], dict] | None = None,
    emails: Callable[[Workflow], Iterable[Email]] | None = None,
) -> list[Workflow]:
    """The same transition on many rows the caller has locked, in a handful of queries.

    For batch work (the sweeper after an outage), and only for transitions whose body
    changes no field but the state (only the state and chain head are written back).
    Rows whose state does not allow the
    transition are skipped and left out of the result; the rest get their audit events,
    their timers cancelled when final, and their emails, exactly as `transition` would.
    """
    if not workflows:
        return []
    model = type(workflows[0])
    moved, events = [], []
    now = timezone.now()
    for workflow in workflows:
        method = getattr(workflow, name)
        if not can_proceed(method):
            continue
        source = workflow.state
        method()
        workflow.updated_at = now
        events.append(
            audit.new_event(
                workflow,
                transition=name,
                source=source,
                target=workflow.state,
                actor=actor,
                data=data(workflow) if data else None,
            )
        )
        moved.append(workflow)
    if not moved:
        return []
    _update_heads(model, moved, now)
    copy_rows(AuditEvent, events)
    final = [w.pk for w in moved if w.is_final]
    if final:
        with connection.cursor() as cursor:
            cursor.execute(_cancel_timers_sql(many=True), [now, final])
    if emails:
        rows = [row for workflow in moved for row in _outbox_rows(workflow, emails(workflow), now)]
        if rows:
            copy_rows(OutboxMessage, rows, with_ids=True)
            dispatch.outbox_after_commit()
    return moved


def _update_heads(model: type[Workflow], rows: list[Workflow], now) -> None:
    """One UPDATE for the state and chain head of many rows (Django's bulk_update builds
    a CASE per row and per field, which costs more than the transitions themselves)."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS w
               SET state = v.state, audit_seq = v.seq, audit_hash = v.hash, updated_at = %s
              FROM unnest(%s::uuid[], %s::text[], %s::int[], %s::text[]) AS v(id, state, seq, hash)
             WHERE w.execution_id = v.id
            """,
            [
                now,
                [row.pk for row in rows],
                [row.state for row in rows],
                [row.audit_seq for row in rows],
                [row.audit_hash for row in rows],
            ],
        )


def notify(workflow: Workflow | None, *emails: Email) -> list[OutboxMessage]:
    """Write outbox emails in the current transaction (delivered after commit)."""
    return _write_outbox(workflow, emails)


def _effects(workflow, *, schedule, emails):
    """New timers and outbox emails (timers are cancelled with the step itself)."""
    timers = [
        Timer(
            workflow_type=workflow.workflow_type,
            execution_id=workflow.pk,
            name=item.name,
            due_at=item.due_at,
            is_deadline=item.deadline,
        )
        for item in schedule
    ]
    if timers:
        dispatch.timers_after_commit(timers)
        insert_rows(timers)
    _write_outbox(workflow, emails)


def _write_outbox(workflow, emails) -> list[OutboxMessage]:
    rows = _outbox_rows(workflow, emails, timezone.now())
    if rows:
        insert_rows(rows)
        dispatch.outbox_after_commit()
    return rows


def _outbox_rows(workflow, emails, now) -> list[OutboxMessage]:
    return [
        OutboxMessage(
            template=email.template,
            to=list(email.to),
            context=email.context,
            attachments=email.attachments,
            language=email.language,
            workflow_type=workflow.workflow_type if workflow else "",
            execution_id=workflow.pk if workflow else None,
            next_attempt_at=now,
        )
        for email in emails
    ]
