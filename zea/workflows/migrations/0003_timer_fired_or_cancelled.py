"""A timer settles once: fired or cancelled, never both.

Until now a handler that ended its workflow (an onboarding's expiry) cancelled the very
timer it was firing, and the firing then stamped it too. Such a timer fired: the cancel
was its own effect, so it is cleared.

Not atomic, and in this order, so that a large timer table stays writable: the
constraint holds new rows from the first step (a brief lock, no scan), the old rows are
mended, and the validation scans the table without keeping writers out.
"""

from django.contrib.postgres.operations import AddConstraintNotValid, ValidateConstraint
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("workflows", "0002_audit_append_only")]

    operations = [
        AddConstraintNotValid(
            model_name="timer",
            constraint=models.CheckConstraint(
                condition=models.Q(fired_at__isnull=True) | models.Q(cancelled_at__isnull=True),
                name="timer_fired_or_cancelled",
            ),
        ),
        migrations.RunSQL(
            "UPDATE workflows_timer SET cancelled_at = NULL "
            "WHERE fired_at IS NOT NULL AND cancelled_at IS NOT NULL",
            migrations.RunSQL.noop,
        ),
        ValidateConstraint(model_name="timer", name="timer_fired_or_cancelled"),
    ]
