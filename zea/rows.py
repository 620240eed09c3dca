"""Model instances from the rows of hand-written SQL, as a queryset would make them.

For the few queries on every request or step (the workflow lock, the token lookup),
whose text is written once instead of compiled by the ORM each time; compiling costs
more than the query itself there.
"""

from functools import cache

from django.db import connection


@cache
def columns(model, alias: str = "") -> str:
    """The model's concrete columns in `from_db` order, optionally qualified by a table alias."""
    quote = connection.ops.quote_name
    prefix = f"{quote(alias)}." if alias else ""
    return ", ".join(prefix + quote(f.column) for f in model._meta.concrete_fields)


def width(model) -> int:
    return len(model._meta.concrete_fields)


def instance(model, values):
    """The instance of a row whose values follow `columns(model)`; None for an all-NULL
    row (an outer join that found nothing)."""
    values = list(values)
    if values[model._meta.concrete_fields.index(model._meta.pk)] is None:
        return None
    converters = _converters(model)
    if converters:
        values = [convert(value) for convert, value in zip(converters, values, strict=True)]
    return model.from_db(connection.alias, _attnames(model), values)


def split(row, models) -> tuple[list, tuple]:
    """The instances of `models` whose columns come one after the other at the start of
    `row` (as `columns` lists them), and the row's remaining values."""
    found, start = [], 0
    for model in models:
        end = start + width(model)
        found.append(instance(model, row[start:end]))
        start = end
    return found, tuple(row[start:])


@cache
def _attnames(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


@cache
def _converters(model) -> list | None:
    """Per column, what the ORM applies to a fetched value (a JSONField decodes its text);
    None when no field of the model needs anything."""
    fields = model._meta.concrete_fields
    if not any(f.get_db_converters(connection) for f in fields):
        return None
    return [_converter(f) for f in fields]


def _converter(field):
    steps = field.get_db_converters(connection)

    def convert(value):
        for step in steps:
            value = step(value, field, connection)
        return value

    return convert
