"""The credit ledger is append-only: PostgreSQL refuses UPDATE and DELETE on it."""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION zea_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'bookings_credittransaction is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER bookings_credittransaction_no_update
    BEFORE UPDATE ON bookings_credittransaction
    FOR EACH ROW EXECUTE FUNCTION zea_ledger_append_only();
CREATE TRIGGER bookings_credittransaction_no_delete
    BEFORE DELETE ON bookings_credittransaction
    FOR EACH ROW EXECUTE FUNCTION zea_ledger_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS bookings_credittransaction_no_update ON bookings_credittransaction;
DROP TRIGGER IF EXISTS bookings_credittransaction_no_delete ON bookings_credittransaction;
DROP FUNCTION IF EXISTS zea_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
