"""Memory at idle: web (gunicorn, 2 workers) + worker (concurrency 2) + beat, PSS summed
over every process of each from /proc/<pid>/smaps_rollup (shared pages counted once).

    .venv/bin/python bench/memory.py
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import stack_bench


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def main():
    stack = stack_bench.start_stack("memory", "web", "worker", "beat", WEB_CONCURRENCY="2")
    try:
        time.sleep(15)  # let every process finish starting and run a sweep
        total = 0
        print("memory at idle (PSS)")
        for name in ("web", "worker", "beat"):
            pids = group_pids(stack.procs[name].pid)
            mib = sum(pss_kib(pid) for pid in pids) / 1024
            total += mib
            print(f"  {name:<8} {len(pids)} processes  {mib:7.1f} MiB")
        common.report("web + worker + beat, PSS", total, "MiB")
    finally:
        stack.teardown()


if __name__ == "__main__":
    main()
