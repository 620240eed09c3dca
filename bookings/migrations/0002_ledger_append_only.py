"""The credit ledger is append-only: PostgreSQL refuses UPDATE and DELETE on it."""
from django.db import migrations

from zea.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]
    operations = [append_only("bookings_credittransaction", "zea_ledger_append_only")]
