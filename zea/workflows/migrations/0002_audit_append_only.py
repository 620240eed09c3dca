"""The audit table is append-only: PostgreSQL refuses UPDATE and DELETE on it."""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION zea_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'workflows_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER workflows_auditevent_no_update
    BEFORE UPDATE ON workflows_auditevent
    FOR EACH ROW EXECUTE FUNCTION zea_audit_append_only();
CREATE TRIGGER workflows_auditevent_no_delete
    BEFORE DELETE ON workflows_auditevent
    FOR EACH ROW EXECUTE FUNCTION zea_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS workflows_auditevent_no_update ON workflows_auditevent;
DROP TRIGGER IF EXISTS workflows_auditevent_no_delete ON workflows_auditevent;
DROP FUNCTION IF EXISTS zea_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
