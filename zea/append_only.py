"""Append-only tables: PostgreSQL itself refuses UPDATE and DELETE on them.

Migrations call this, so the SQL it makes must stay what they applied: change it only
together with a migration that replaces the triggers.
"""

from django.db import migrations


def append_only(table: str, function: str) -> migrations.RunSQL:
    """Triggers that make `table` refuse UPDATE and DELETE, and the way back."""
    forward = f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER {table}_no_update
    BEFORE UPDATE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
CREATE TRIGGER {table}_no_delete
    BEFORE DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
"""
    backward = f"""
DROP TRIGGER IF EXISTS {table}_no_update ON {table};
DROP TRIGGER IF EXISTS {table}_no_delete ON {table};
DROP FUNCTION IF EXISTS {function}();
"""
    return migrations.RunSQL(forward, backward)
