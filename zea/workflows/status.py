"""Read models for operators: counts per state, overdue deadlines, outbox backlog."""

from functools import cache

from django.db import connection
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from zea.workflows.models import AuditEvent, OutboxMessage, Timer
from zea.workflows.registry import workflow_types


def overdue_deadline(now=None):
    """An Exists() for workflow querysets: a pending deadline timer is past due. (Here the
    due-date index of pending timers is the right road: few of them are overdue.)"""
    now = now or timezone.now()
    return Exists(Timer.objects.pending().filter(execution_id=OuterRef("pk"), is_deadline=True, due_at__lt=now))


def pending_deadlines(execution_ids):
    """The pending deadline timers of these executions (by the execution_id index)."""
    return Timer.objects.pending_of_executions().filter(execution_id__in=execution_ids, is_deadline=True)


def deadline_of(execution_id):
    return pending_deadlines([execution_id]).order_by("due_at").values_list("due_at", flat=True).first()


TIMELINE_FIELDS = ("seq", "at", "transition", "source", "target", "actor")


def timeline(execution_id) -> list[dict]:
    """An execution's audit events for the status API, oldest first, as plain rows (no
    model instance per event, and no query compiled: it is the operators' most frequent read)."""
    with connection.cursor() as cursor:
        cursor.execute(_timeline_sql(), [execution_id])
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@cache
def _timeline_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in TIMELINE_FIELDS)
    return f"SELECT {columns} FROM {quote(AuditEvent._meta.db_table)} WHERE execution_id = %s ORDER BY seq"


def deadlines_of(execution_ids) -> dict:
    """Pending deadlines of many executions in one query."""
    rows = (
        pending_deadlines(execution_ids)
        .order_by("execution_id", "due_at")
        .distinct("execution_id")
        .values_list("execution_id", "due_at")
    )
    return dict(rows)


def snapshot(now=None) -> dict:
    now = now or timezone.now()
    workflows = {}
    for workflow_type, model in workflow_types().items():
        counts = dict(model.objects.values_list("state").annotate(n=Count("pk")).order_by())
        workflows[workflow_type] = {state: counts.get(state, 0) for state in _states(model)} | counts
    pending_timers = Timer.objects.pending()
    outbox_pending = OutboxMessage.objects.pending()
    return {
        "at": now.isoformat(),
        "workflows": workflows,
        "timers": {
            "pending": pending_timers.count(),
            "overdue": pending_timers.filter(due_at__lt=now).count(),
        },
        "outbox": {
            "pending": outbox_pending.count(),
            "retrying": outbox_pending.filter(attempts__gt=0).count(),
            "failed": OutboxMessage.objects.filter(failed_at__isnull=False).count(),
        },
    }


def _states(model) -> list[str]:
    field = model._meta.get_field("state")
    return [value for value, _ in field.choices] if field.choices else []
