"""Operator CLI: `zea status | stuck | replay <execution_id> | verify | sweep | diagrams | payroll <YYYY-MM>`."""

import json
import sys
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from zea.workflows import audit, dashboard, diagrams, status, sweeper, verify
from zea.workflows.models import AuditEvent
from zea.workflows.registry import find_execution

CLEAR = "\x1b[H\x1b[2J"


class Command(BaseCommand):
    help = "Operate ZEA workflows: status, replay, verify, sweep."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        st = sub.add_parser("status", help="Workflows per type and state, overdue timers, outbox backlog.")
        st.add_argument("--json", action="store_true", help="Machine-readable output.")
        st.add_argument(
            "--watch", nargs="?", type=float, const=2.0, metavar="SECONDS", help="Refresh every SECONDS (default 2)."
        )
        st.add_argument("--count", type=int, help="With --watch: stop after this many refreshes.")
        sk = sub.add_parser("stuck", help="What needs a human: executions with no progress for longer than expected.")
        sk.add_argument("--json", action="store_true", help="Machine-readable output.")
        sk.add_argument("--limit", type=int, default=50, help="Rows shown per kind (default 50).")
        rp = sub.add_parser("replay", help="An execution's timeline and whether replaying it gives its state.")
        rp.add_argument("execution_id")
        sub.add_parser("verify", help="Replay and check the hash chain of every execution; exit 1 on a problem.")
        sub.add_parser("sweep", help="Fire what is due now; re-enqueue lost work.")
        dg = sub.add_parser("diagrams", help="Regenerate docs/diagrams/*.svg from the FSM definitions.")
        dg.add_argument("--check", action="store_true", help="Exit 1 if a checked-in diagram is stale; write nothing.")
        pr = sub.add_parser("payroll", help="Generate a month's payroll report here and now (YYYY-MM).")
        pr.add_argument("month", help="YYYY-MM")
        pr.add_argument("--regenerate", action="store_true", help="Recompute a ready or failed report.")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_status(self, json: bool = False, watch: float | None = None, count: int | None = None, **_):
        if watch is None:
            self._status_once(json)
            return
        refreshes = 0
        clear = not json and self.stdout.isatty()
        try:
            while True:
                if clear:
                    self.stdout.write(CLEAR, ending="")
                self._status_once(json)
                refreshes += 1
                if count is not None and refreshes >= count:
                    return
                self.stdout.flush()
                time.sleep(watch)
        except KeyboardInterrupt:
            return

    def _status_once(self, as_json: bool):
        snap = status.snapshot()
        stuck_total = sum(group.count for group in dashboard.stuck())
        if as_json:
            self.stdout.write(_dumps({**snap, "stuck": stuck_total}))
            return
        self.stdout.write(f"ZEA status at {snap['at']}")
        rows = [("WORKFLOW", "TOTAL", "STATES")]
        for workflow_type, counts in snap["workflows"].items():
            cells = "  ".join(f"{state}={n}" for state, n in counts.items())
            rows.append((workflow_type, str(sum(counts.values())), cells))
        t, o = snap["timers"], snap["outbox"]
        rows.append(("timers", str(t["pending"]), f"pending={t['pending']}  overdue={t['overdue']}"))
        rows.append(
            ("outbox", str(o["pending"]), f"pending={o['pending']}  retrying={o['retrying']}  failed={o['failed']}")
        )
        rows.append(("stuck", str(stuck_total), "see: manage.py zea stuck" if stuck_total else "nothing needs a human"))
        self.stdout.write(_table(rows, right=(1,)))

    def do_stuck(self, json: bool = False, limit: int = 50, **_):
        groups = [group for group in dashboard.stuck() if group.count]
        if json:
            payload = [
                {
                    "kind": group.kind,
                    "label": group.label,
                    "count": group.count,
                    "admin": group.url,
                    "rows": [row.__dict__ for row in group.rows(limit)],
                }
                for group in groups
            ]
            self.stdout.write(_dumps(payload))
            return
        if not groups:
            self.stdout.write(self.style.SUCCESS("stuck: nothing needs a human"))
            return
        now = timezone.now()
        for group in groups:
            self.stdout.write(self.style.WARNING(f"{group.label}: {group.count}"))
            self.stdout.write(f"  admin: {group.url}")
            rows = [("TYPE", "EXECUTION", "STATE", "SINCE", "WHY")]
            for row in group.rows(limit):
                since = f"{row.since:%Y-%m-%d %H:%M:%S}" if row.since else "-"
                rows.append((row.workflow_type, row.execution_id, row.state, since, row.reason))
            self.stdout.write(_table(rows, indent="  "))
            if group.count > limit:
                self.stdout.write(f"  … and {group.count - limit} more")
        total = sum(group.count for group in groups)
        self.stdout.write(f"stuck: {total} row(s) need a human (as of {now:%Y-%m-%d %H:%M:%S})")

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
        # Rounds of a bounded sweep, so a large backlog shows progress instead of a long silence.
        total = None
        deadline = time.monotonic() + 3600
        while True:
            result = sweeper.sweep(budget_seconds=10)
            if total is None:
                total = result
            else:
                for key, value in result.as_dict().items():
                    setattr(total, key, getattr(total, key) + value)
            self.stderr.write(f"  sweep: fired {total.fired}, failed {total.failed}", ending="\r")
            if not result.fired or time.monotonic() > deadline:
                break
        self.stderr.write("")
        self.stdout.write(_dumps(total.as_dict()))

    def do_diagrams(self, check: bool = False, **_):
        if check:
            stale = diagrams.stale()
            for path in stale:
                self.stdout.write(self.style.ERROR(f"stale: {path} (run: manage.py zea diagrams)"))
            if stale:
                sys.exit(1)
            self.stdout.write(self.style.SUCCESS("diagrams: up to date"))
            return
        changed = diagrams.write_all()
        for path in changed:
            self.stdout.write(f"wrote {path}")
        self.stdout.write(self.style.SUCCESS(f"diagrams: {len(changed)} changed in {diagrams.DOCS_DIR}"))

    def do_payroll(self, month: str, regenerate: bool = False, **_):
        from payroll import services as payroll

        try:
            first = date.fromisoformat(f"{month}-01")
        except ValueError:
            raise CommandError(f"month must be YYYY-MM, not {month!r}") from None
        self.stderr.write(f"  payroll {month}: requesting")
        report, started = payroll.request_report(month=first, actor="system:cli", regenerate=regenerate)
        if report.state == report.State.READY and not started:
            self.stdout.write(f"payroll {month}: already ready (use --regenerate to recompute)")
            return
        self.stderr.write(f"  payroll {month}: generating ({report.state})")
        started_at = time.monotonic()
        state = payroll.generate(report.pk)
        report.refresh_from_db()
        self.stderr.write(f"  payroll {month}: {state} in {time.monotonic() - started_at:.1f}s")
        self.stdout.write(_dumps({"id": report.pk, "month": month, "state": report.state, "totals": report.totals}))


def _table(rows, *, right=(), indent="  ") -> str:
    """Rows of cells as aligned columns; the last column is left ragged."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        lines.append(indent + "  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _dumps(data) -> str:
    return json.dumps(data, indent=2, default=str)
