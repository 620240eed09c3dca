"""Run every benchmark in turn (`make bench`; `make bench-quick` passes --quick)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = [
    "engine.py",
    "http_booking.py",
    "latency.py",
    "status_query.py",
    "payroll_month.py",
    "memory.py",
    "instructions.py",
]


def main():
    quick = ["--quick"] if "--quick" in sys.argv[1:] else []
    failed = []
    for script in SUITE:
        args = quick if script != "memory.py" else []
        print(f"\n=== {script} {' '.join(args)}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *args], cwd=HERE.parent).returncode:
            failed.append(script)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
