"""The audit chain: appending events, replaying them and verifying their hashes."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC

from django.utils import timezone

from zea.workflows.models import AuditEvent, Workflow

START = "start"


def event_hash(*, prev_hash, workflow_type, execution_id, seq, transition, source, target, actor, data, at) -> str:
    payload = json.dumps(
        [
            workflow_type,
            str(execution_id),
            seq,
            transition,
            source,
            target,
            actor,
            data,
            at.astimezone(UTC).isoformat(),
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def new_event(
    workflow: Workflow, *, transition: str, source: str, target: str, actor: str, data: dict | None
) -> AuditEvent:
    """Build the next event of `workflow`'s chain and advance the row's chain head.

    The caller holds the row lock and saves both in the same transaction.
    """
    data = data or {}
    seq = workflow.audit_seq + 1
    at = timezone.now()
    digest = event_hash(
        prev_hash=workflow.audit_hash,
        workflow_type=workflow.workflow_type,
        execution_id=workflow.pk,
        seq=seq,
        transition=transition,
        source=source,
        target=target,
        actor=actor,
        data=data,
        at=at,
    )
    event = AuditEvent(
        workflow_type=workflow.workflow_type,
        execution_id=workflow.pk,
        seq=seq,
        transition=transition,
        source=source,
        target=target,
        actor=actor,
        data=data,
        at=at,
        prev_hash=workflow.audit_hash,
        hash=digest,
    )
    workflow.audit_seq = seq
    workflow.audit_hash = digest
    return event


@dataclass
class Replay:
    execution_id: str
    state: str | None
    current_state: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def replay(workflow: Workflow, events: list[AuditEvent] | None = None) -> Replay:
    """Fold the events from nothing: every step must be a declared transition from the
    state reached so far, the hash chain must be intact, and the result must equal the row."""
    if events is None:
        events = list(AuditEvent.objects.filter(execution_id=workflow.pk).order_by("seq"))
    model = type(workflow)
    result = Replay(str(workflow.pk), None, workflow.state)
    state, prev_hash = None, ""
    for expected_seq, event in enumerate(events, start=1):
        where = f"event #{event.seq} ({event.transition})"
        if event.seq != expected_seq:
            result.problems.append(f"{where}: expected seq {expected_seq}")
        if event.workflow_type != workflow.workflow_type:
            result.problems.append(f"{where}: type {event.workflow_type!r} is not {workflow.workflow_type!r}")
        if event.prev_hash != prev_hash:
            result.problems.append(f"{where}: prev_hash does not link to the previous event")
        recomputed = event_hash(
            prev_hash=event.prev_hash,
            workflow_type=event.workflow_type,
            execution_id=event.execution_id,
            seq=event.seq,
            transition=event.transition,
            source=event.source,
            target=event.target,
            actor=event.actor,
            data=event.data,
            at=event.at,
        )
        if recomputed != event.hash:
            result.problems.append(f"{where}: hash mismatch (the event was altered)")
        problem = _step_problem(model, state, event)
        if problem:
            result.problems.append(f"{where}: {problem}")
        state, prev_hash = event.target, event.hash
    result.state = state
    if not events:
        result.problems.append("no events")
    elif state != workflow.state:
        result.problems.append(f"replay ends in {state!r} but the row is {workflow.state!r}")
    if events and (workflow.audit_seq != events[-1].seq or workflow.audit_hash != events[-1].hash):
        result.problems.append("the row's chain head does not match its last event")
    return result


def _step_problem(model: type[Workflow], state: str | None, event: AuditEvent) -> str | None:
    if event.transition == START:
        if state is not None or event.source != "":
            return "start must be the first event"
        return None
    if state is None:
        return "the first event must be start"
    if event.source != state:
        return f"source {event.source!r} but the replayed state is {state!r}"
    method = getattr(model, event.transition, None)
    meta = getattr(method, "_django_fsm", None)
    if meta is None:
        return f"{event.transition!r} is not a transition of {model.__name__}"
    declared = meta.get_transition(state)
    if declared is None:
        return f"{event.transition!r} is not allowed from {state!r}"
    if declared.target is not None and declared.target != event.target:
        return f"{event.transition!r} leads to {declared.target!r}, not {event.target!r}"
    return None
