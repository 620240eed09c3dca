"""`zea verify`: replay every execution and check its hash chain, plus each workflow's
own invariants; report the culprits."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import groupby

from zea.workflows import audit
from zea.workflows.models import AuditEvent
from zea.workflows.registry import workflow_types


@dataclass
class Finding:
    workflow_type: str
    execution_id: str
    problem: str

    def __str__(self):
        return f"{self.workflow_type} {self.execution_id}: {self.problem}"


def verify_all(progress: Callable[[str, int], None] | None = None, chunk: int = 2000) -> Iterator[Finding]:
    for workflow_type, model in workflow_types().items():
        yield from _verify_type(workflow_type, model, progress, chunk)
        check = getattr(model, "invariant_problems", None)
        if check is not None:
            for execution_id, problem in check():
                yield Finding(workflow_type, str(execution_id), problem)
    yield from _engine_invariants()
    # Events whose execution row no longer exists.
    known = {t for t in workflow_types()}
    for workflow_type in AuditEvent.objects.values_list("workflow_type", flat=True).distinct():
        if workflow_type not in known:
            yield Finding(workflow_type, "-", "audit events of an unknown workflow type")


def _verify_type(workflow_type, model, progress, chunk) -> Iterator[Finding]:
    done = 0
    rows = model.objects.order_by("pk").iterator(chunk_size=chunk)
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            yield from _verify_batch(workflow_type, batch)
            done += len(batch)
            batch = []
            if progress:
                progress(workflow_type, done)
    if batch:
        yield from _verify_batch(workflow_type, batch)
        done += len(batch)
        if progress:
            progress(workflow_type, done)
    orphans = (
        AuditEvent.objects.filter(workflow_type=workflow_type)
        .exclude(execution_id__in=model.objects.values("pk"))
        .values_list("execution_id", flat=True)
        .distinct()
    )
    for execution_id in orphans:
        yield Finding(workflow_type, str(execution_id), "audit events without a workflow row")


def _verify_batch(workflow_type, rows) -> Iterator[Finding]:
    events = AuditEvent.objects.filter(execution_id__in=[row.pk for row in rows]).order_by("execution_id", "seq")
    by_execution = {key: list(group) for key, group in groupby(events, key=lambda e: e.execution_id)}
    for row in rows:
        result = audit.replay(row, by_execution.get(row.pk, []))
        for problem in result.problems:
            yield Finding(workflow_type, str(row.pk), problem)


def _engine_invariants() -> Iterator[Finding]:
    """Timers and outbox rows agree with the workflows they belong to."""
    from django.db.models import CharField, Count, OuterRef, Q, Subquery
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Cast, Coalesce

    from zea.workflows.models import OutboxMessage, Timer

    for workflow_type, model in workflow_types().items():
        final = list(model.final_states)
        # A workflow that reached a final state has no timer left to fire.
        dangling = Timer.objects.pending().filter(
            workflow_type=workflow_type, execution_id__in=model.objects.filter(state__in=final).values("pk")
        )
        for timer in dangling.values("execution_id", "name"):
            yield Finding(
                workflow_type, str(timer["execution_id"]), f"timer {timer['name']!r} pending in a final state"
            )
        # A timer that fired a transition left exactly one audit event naming it.
        naming = (
            AuditEvent.objects.annotate(timer=KeyTextTransform("timer", "data"))
            .filter(execution_id=OuterRef("execution_id"), timer=Cast(OuterRef("pk"), CharField()))
            .values("execution_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        mismatched = (
            Timer.objects.filter(workflow_type=workflow_type, fired_at__isnull=False)
            .exclude(outcome__in=["noop", "fired", "reminded"])
            .annotate(events=Coalesce(Subquery(naming), 0))
            .exclude(events=1)
        )
        for timer in mismatched.values("pk", "execution_id", "outcome", "events"):
            yield Finding(
                workflow_type,
                str(timer["execution_id"]),
                f"timer {timer['pk']} fired ({timer['outcome']}) but {timer['events']} audit events name it",
            )
    # Every email decided by a committed change is sent, or still on its way.
    for message in OutboxMessage.objects.filter(Q(failed_at__isnull=False)).values(
        "pk", "workflow_type", "execution_id"
    ):
        yield Finding(
            message["workflow_type"] or "-",
            str(message["execution_id"] or "-"),
            f"outbox {message['pk']} gave up (failed)",
        )
