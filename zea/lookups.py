"""`field__any=[...]`: one array parameter instead of one placeholder per value.

For the batch paths (a sweep after an outage locks and updates a thousand rows at a
time): `__in` sends a placeholder per value, which psycopg's client-side binding then
parses and quotes one by one in Python; one array literal built here costs a fraction.
"""

from django.db.models import Field, Lookup


def array_literal(values) -> str:
    """A PostgreSQL array literal of the values' text forms (NULLs dropped: they match nothing)."""
    quoted = ('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values if value is not None)
    return "{" + ",".join(quoted) + "}"


@Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        field = self.lhs.output_field
        return "%s", [array_literal(field.get_db_prep_value(item, connection) for item in value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs}::{self.lhs.output_field.db_type(connection)}[])", [*lhs_params, *rhs_params]
