"""Booking over HTTP through gunicorn: throughput, p50, p99 with 16 concurrent clients
and no contention, and 64 clients racing for one hot slot; beside a minimal DRF endpoint
doing one locked UPDATE + INSERT, measured in the same run and the same way.

    .venv/bin/python bench/http_booking.py [--quick] [--workers N]
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import stack_bench


def post(port, path, body, token):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    payload = json.dumps(body).encode()
    started = time.perf_counter()
    conn.request("POST", path, payload, {"Content-Type": "application/json", "Authorization": f"Token {token}"})
    response = conn.getresponse()
    data = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    return response.status, elapsed, data


def run_clients(port, plans, barrier=True):
    """Each plan is one client's list of (path, body, token), sent one after another."""
    results, lock = [], threading.Lock()
    gate = threading.Barrier(len(plans)) if barrier else None

    def client(plan):
        if gate:
            gate.wait()
        for path, body, token in plan:
            status, ms, _ = post(port, path, body, token)
            with lock:
                results.append((status, ms))

    threads = [threading.Thread(target=client, args=(plan,)) for plan in plans]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


def athletes(count, credits):
    from rest_framework.authtoken.models import Token

    from bookings import services as bookings
    from onboarding import services as onboarding

    profile = {
        "date_of_birth": "1995-01-01",
        "phone": "+34600111222",
        "sport": "running",
        "emergency_contact_name": "E",
        "emergency_contact_phone": "+34600333444",
    }
    made = []
    for i in range(count):
        tag = f"{time.time_ns()}-{i}"
        ob, token = onboarding.register(
            email=f"b{tag}@x.io", password="Bench-pass-2026!", first_name="B", last_name="B"
        )
        onboarding.update_profile(user=ob.athlete.user, **profile)
        bookings.grant_credits(athlete_id=ob.athlete.pk, amount=credits, reason="bench", by=None)
        made.append(Token.objects.get(user=ob.athlete.user).key)
    return made


def slots(count, capacity=1, start_in=timedelta(days=2)):
    from django.utils import timezone

    from bookings.models import Slot
    from zea.accounts.services import create_coach

    coaches = [
        create_coach(
            email=f"c{time.time_ns()}-{i}@x.io",
            password="Bench-pass-2026!",
            first_name="C",
            last_name="C",
            hourly_rate="30",
        )
        for i in range(count // 10 + 1)
    ]
    start = timezone.now() + start_in
    rows = [
        Slot(
            coach=coaches[i % len(coaches)],
            starts_at=start + timedelta(hours=i // len(coaches)),
            ends_at=start + timedelta(hours=i // len(coaches), minutes=50),
            capacity=capacity,
        )
        for i in range(count)
    ]
    return [str(slot.pk) for slot in Slot.objects.bulk_create(rows)]


def cpu_seconds(stack) -> dict:
    """CPU time used so far (utime + stime) by each process group of the stack, by the
    PostgreSQL backends serving its database, and by this process (the clients)."""
    import os
    from pathlib import Path

    tick = os.sysconf("SC_CLK_TCK")
    groups = {proc.pid: name for name, proc in stack.procs.items()}
    totals = dict.fromkeys([*stack.procs, "postgres"], 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            name = groups.get(int(fields[2]))
            if name is None and stack.db_name in (entry / "cmdline").read_bytes().decode(errors="replace"):
                name = "postgres"  # a backend: "postgres: <user> <database> <client> <state>"
        except OSError:
            continue
        if name is not None:
            totals[name] += (int(fields[11]) + int(fields[12])) / tick
    own = os.times()
    totals["clients"] = own.user + own.system
    # The whole machine's busy time (kernel and other processes included), for the rest.
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    totals["machine"] = (sum(int(x) for x in busy) - int(busy[3]) - int(busy[4])) / tick
    return totals


def measured(stack, port, plans):
    """Run the clients; the CPU each part of the stack spent per request, counted until
    the worker (if running) has also delivered the emails those requests wrote."""
    from zea.workflows.models import OutboxMessage

    before = cpu_seconds(stack)
    results, elapsed = run_clients(port, plans)
    deadline = time.monotonic() + (30 if "worker" in stack.procs else 0)
    while time.monotonic() < deadline and OutboxMessage.objects.pending().exists():
        time.sleep(0.01)
    after = cpu_seconds(stack)
    return results, elapsed, {name: (after[name] - before[name]) * 1000 / len(results) for name in after}


def combined(runs):
    """The turns of one kind as one run: all results, the time they took, CPU per request."""
    results = [result for run_results, _, _ in runs for result in run_results]
    elapsed = sum(run_elapsed for _, run_elapsed, _ in runs)
    cpu = {
        name: sum(run_cpu[name] * len(run_results) for run_results, _, run_cpu in runs) / len(results)
        for name in runs[0][2]
    }
    return results, elapsed, cpu


def print_cpu(what, cpu, baseline=None):
    line = f"{'':<44} CPU per {what}: " + ", ".join(f"{n} {ms:.1f} ms" for n, ms in cpu.items() if n != "machine")
    line += f"; whole machine {cpu['machine']:.1f} ms"
    if baseline:
        line += f" ({cpu['machine'] / baseline['machine']:.2f}x the baseline's)"
    print(line, flush=True)


def print_email_delay():
    """How long the bookings' emails waited under this load: from the row's writing in the
    booking's transaction to its being marked sent (after the hand-over, at the commit of
    the worker's batch). The latency bench measures the same one email at a time."""
    from django.db.models import F

    from zea.workflows.models import OutboxMessage

    sent = OutboxMessage.objects.filter(template__startswith="bookings/email/confirmed", sent_at__isnull=False)
    waits = [delay.total_seconds() * 1000 for delay in sent.values_list(F("sent_at") - F("created_at"), flat=True)]
    print(
        f"{'':<44} their emails, written → marked sent: p50 {common.percentile(waits, 50):.1f} ms, "
        f"p99 {common.percentile(waits, 99):.1f} ms ({len(waits)} emails)",
        flush=True,
    )


def summarize(name, results, elapsed, baseline=None):
    ms = [m for _, m in results]
    rate = len(results) / elapsed
    statuses = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    p50, p99 = common.percentile(ms, 50), common.percentile(ms, 99)
    line = f"{name:<44} {rate:8.1f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  statuses {statuses}"
    if baseline:
        line += f"\n{'':<44} ratio to baseline: p50 {p50 / baseline[1]:.2f}x  throughput {rate / baseline[0]:.2f}x"
    print(line, flush=True)
    return rate, p50, p99, statuses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", default="4")
    parser.add_argument("--no-worker", action="store_true", help="no Celery worker: emails wait in the outbox")
    args = parser.parse_args()
    per_client, hot_rounds = (30, 3) if args.quick else (150, 10)
    stack = stack_bench.start_stack("http", WEB_CONCURRENCY=args.workers)
    try:
        tokens = athletes(64, credits=per_client * 2 + hot_rounds + 5)
        free = slots(16 * per_client)
        hot = slots(hot_rounds, capacity=16)
        stack.start("web", *([] if args.no_worker else ["worker"]))
        port = stack.port
        print(
            f"booking over HTTP: gunicorn {args.workers} sync workers, worker concurrency 2; "
            f"16 clients x {per_client} requests"
        )
        # Warm up both endpoints (connections, imports).
        run_clients(port, [[("/bench/baseline/", {}, tokens[i])] * 5 for i in range(4)])
        # Baseline and booking take turns, so a VM whose speed drifts over the minutes of
        # a run slows both alike.
        turns = 2 if args.quick else 3
        size = per_client // turns
        base_runs, booking_runs = [], []
        for turn in range(turns):
            base_runs.append(measured(stack, port, [[("/bench/baseline/", {}, tokens[i])] * size for i in range(16)]))
            mine = range(turn * size, (turn + 1) * size)  # each client's slots in this turn
            booking_runs.append(
                measured(
                    stack,
                    port,
                    [[("/api/bookings/", {"slot_id": free[i + 16 * j]}, tokens[i]) for j in mine] for i in range(16)],
                )
            )
        base_results, base_elapsed, base_cpu = combined(base_runs)
        print(f"(baseline and booking in {turns} alternating turns each)")
        base = summarize("baseline: locked UPDATE + INSERT (DRF)", base_results, base_elapsed)
        print_cpu("baseline", base_cpu)
        results, elapsed, cpu = combined(booking_runs)
        summarize("booking, 16 clients, no contention", results, elapsed, base)
        print_cpu("booking", cpu, base_cpu)
        if not args.no_worker:
            print_email_delay()
        hot_results, hot_elapsed = [], 0.0
        confirmed = []
        before = cpu_seconds(stack)
        for slot_id in hot:
            round_results, round_elapsed = run_clients(
                port, [[("/api/bookings/", {"slot_id": slot_id}, t)] for t in tokens]
            )
            hot_results += round_results
            hot_elapsed += round_elapsed
            confirmed.append(sum(1 for status, _ in round_results if status == 201))
        after = cpu_seconds(stack)
        rate, p50, p99, statuses = summarize("booking, 64 clients racing one slot (cap 16)", hot_results, hot_elapsed)
        print(
            f"{'':<44} confirmed per slot: {confirmed} (capacity 16); 5xx: "
            f"{sum(n for s, n in statuses.items() if s >= 500)}"
        )
        # A round's last answer waits for the whole round: how busy the cores were says
        # whether it waited for the CPU (or for the slot's lock, with cores idle).
        per_round = {name: (after[name] - before[name]) * 1000 / len(hot) for name in after}
        wall, cores = hot_elapsed * 1000 / len(hot), os.cpu_count()
        busy = per_round["machine"] / (wall * cores)
        print(
            f"{'':<44} CPU per round: "
            + ", ".join(f"{n} {ms:.0f} ms" for n, ms in per_round.items() if n != "machine")
            + f"; whole machine {per_round['machine']:.0f} ms in {wall:.0f} ms: {busy:.0%} of {cores} cores busy",
            flush=True,
        )
        verify = stack.manage("zea", "verify", check=False)
        print(f"zea verify after the run: exit {verify.returncode}")
    finally:
        stack.teardown()


if __name__ == "__main__":
    main()
