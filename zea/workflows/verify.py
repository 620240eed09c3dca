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
