"""Which concrete workflow models exist, by `workflow_type`."""

import uuid
from functools import cache

from django.apps import apps
from django.db import connection

from zea import rows as sql_rows
from zea.workflows.models import PENDING_TIMER_OF_EXECUTION, Timer, Workflow


@cache
def workflow_types() -> dict[str, type[Workflow]]:
    found = {}
    for model in apps.get_models():
        if issubclass(model, Workflow) and model.workflow_type:
            found[model.workflow_type] = model
    return dict(sorted(found.items()))


def workflow_model(workflow_type: str) -> type[Workflow]:
    return workflow_types()[workflow_type]


def find_execution(execution_id) -> Workflow | None:
    """The workflow row with this execution id, whatever its type, with its pending
    deadline as `deadline` (None without one): one query finds the type (a UNION over
    the workflow tables' primary keys), one reads the row and the deadline."""
    try:
        execution_id = uuid.UUID(str(execution_id))
    except ValueError:
        return None
    types = workflow_types()
    with connection.cursor() as cursor:
        cursor.execute(_type_lookup_sql(), [value for name in types for value in (name, execution_id)])
        found = cursor.fetchone()
        if found is None:
            return None
        model = types[found[0]]
        cursor.execute(_row_sql(model), [execution_id])
        row = cursor.fetchone()
    if row is None:
        return None
    workflow = sql_rows.instance(model, row[:-1])
    workflow.deadline = row[-1]
    return workflow


@cache
def _row_sql(model: type[Workflow]) -> str:
    quote = connection.ops.quote_name
    timers, table = quote(Timer._meta.db_table), quote(model._meta.db_table)
    return (
        f"SELECT {sql_rows.columns(model, 'w')},"
        f" (SELECT t.due_at FROM {timers} t WHERE t.execution_id = w.{quote(model._meta.pk.column)}"
        f" AND t.is_deadline AND {PENDING_TIMER_OF_EXECUTION} ORDER BY t.due_at LIMIT 1)"  # (the timer's columns)
        f" FROM {table} w WHERE w.{quote(model._meta.pk.column)} = %s"
    )


@cache
def _type_lookup_sql() -> str:
    # Written once rather than compiled by the ORM on every status query: a five-way
    # union is most of what that query cost in Python.
    quote = connection.ops.quote_name
    return (
        " UNION ALL ".join(
            f"(SELECT %s::text FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} = %s)"
            for model in workflow_types().values()
        )
        + " LIMIT 1"
    )
