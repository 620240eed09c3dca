"""Operator CLI: `zea status | replay <execution_id> | verify | sweep`."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from zea.workflows import audit, status, sweeper, verify
from zea.workflows.models import AuditEvent
from zea.workflows.registry import find_execution


class Command(BaseCommand):
    help = "Operate ZEA workflows: status, replay, verify, sweep."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        st = sub.add_parser("status", help="Workflows per type and state, overdue timers, outbox backlog.")
        st.add_argument("--json", action="store_true", help="Machine-readable output.")
        rp = sub.add_parser("replay", help="An execution's timeline and whether replaying it gives its state.")
        rp.add_argument("execution_id")
        sub.add_parser("verify", help="Replay and check the hash chain of every execution; exit 1 on a problem.")
        sub.add_parser("sweep", help="Fire what is due now; re-enqueue lost work.")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_status(self, json: bool = False, **_):
        snap = status.snapshot()
        if json:
            self.stdout.write(_dumps(snap))
            return
        self.stdout.write(f"ZEA status at {snap['at']}")
        for workflow_type, counts in snap["workflows"].items():
            total = sum(counts.values())
            cells = "  ".join(f"{state}={n}" for state, n in counts.items())
            self.stdout.write(f"  {workflow_type:<12} {total:>7}  {cells}")
        t, o = snap["timers"], snap["outbox"]
        self.stdout.write(f"  timers       pending={t['pending']}  overdue={t['overdue']}")
        self.stdout.write(f"  outbox       pending={o['pending']}  retrying={o['retrying']}  failed={o['failed']}")

    def do_replay(self, execution_id: str, **_):
        workflow = find_execution(execution_id)
        if workflow is None:
            raise CommandError(f"no execution {execution_id}")
        events = list(AuditEvent.objects.filter(execution_id=workflow.pk).order_by("seq"))
        self.stdout.write(f"{workflow.workflow_type} {workflow.pk} (definition v{workflow.version})")
        for event in events:
            self.stdout.write(
                f"  #{event.seq:<3} {event.at:%Y-%m-%d %H:%M:%S}  {event.transition:<20} "
                f"{event.source or '-':>16} -> {event.target:<16} {event.actor}"
            )
        result = audit.replay(workflow, events)
        if result.ok:
            self.stdout.write(self.style.SUCCESS(f"replay gives {result.state!r} = current state"))
            return
        for problem in result.problems:
            self.stdout.write(self.style.ERROR(f"  {problem}"))
        sys.exit(1)

    def do_verify(self, **_):
        def progress(workflow_type, done):
            self.stderr.write(f"  {workflow_type}: {done} checked", ending="\r")

        findings = list(verify.verify_all(progress=progress))
        self.stderr.write("")
        if not findings:
            self.stdout.write(self.style.SUCCESS("verify: every execution replays to its state; chains intact"))
            return
        for finding in findings:
            self.stdout.write(self.style.ERROR(str(finding)))
        self.stdout.write(f"verify: {len(findings)} problem(s)")
        sys.exit(1)

    def do_sweep(self, **_):
        result = sweeper.sweep(budget_seconds=3600)
        self.stdout.write(_dumps(result.as_dict()))


def _dumps(data) -> str:
    return json.dumps(data, indent=2, default=str)
