"""The audit table is append-only: PostgreSQL refuses UPDATE and DELETE on it."""
from django.db import migrations

from zea.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [("workflows", "0001_initial")]
    operations = [append_only("workflows_auditevent", "zea_audit_append_only")]
