"""Which concrete workflow models exist, by `workflow_type`."""

import uuid
from functools import cache

from django.apps import apps
from django.db import connection

from zea.workflows.models import Workflow


@cache
def workflow_types() -> dict[str, type[Workflow]]:
    found = {}
    for model in apps.get_models():
        if issubclass(model, Workflow) and model.workflow_type:
            found[model.workflow_type] = model
    return dict(sorted(found.items()))


def workflow_model(workflow_type: str) -> type[Workflow]:
    return workflow_types()[workflow_type]


def find_execution(execution_id, **annotations) -> Workflow | None:
    """The workflow row with this execution id, whatever its type: one query finds the
    type (a UNION over the workflow tables' primary keys), one reads the row (with
    `annotations`, e.g. its deadline)."""
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
    return types[found[0]].objects.annotate(**annotations).filter(pk=execution_id).first()


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
