"""CPU instructions per request in the Django process, counted by valgrind's callgrind.

Wall-clock and CPU-time figures move with whatever else the machine does (a VM whose
neighbours steal cycles can double them between two runs); an instruction count does
not. Each figure is the count of one request (or one step) in-process, beside its
baseline counted the same way in the same run:

- booking: `POST /api/bookings/` (DRF, token auth, the whole booking transaction, the
  after-commit publish to Redis) vs the bench's minimal DRF endpoint doing one locked
  UPDATE + INSERT (`bench/urls.py`);
- status: `GET /api/workflows/{id}/` vs the same baseline endpoint;
- step: `engine.transition` vs a bare psycopg UPDATE + INSERT transaction.

Only this process is counted, not PostgreSQL's or Redis': the question is what our code
costs per request. Data is prepared outside valgrind; each child warms up its path, then
only the measured loop is collected (`--toggle-collect` on `eval`, which nothing on these
paths calls).

    .venv/bin/python bench/instructions.py [--quick]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("ZEA_BENCH_DB", "zea_bench_instructions")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
import common  # noqa: E402

WARMUP = 3
PAIRS = [("booking", "baseline"), ("status", "baseline"), ("step", "bare")]


def prepare(n: int) -> dict:
    """Tokens, slots and workflows for every child, made natively (no valgrind)."""
    import engine as engine_bench
    import http_booking
    from django.db import connection
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from onboarding.models import Onboarding
    from onboarding.services import _timers
    from zea.accounts.models import User
    from zea.workflows import engine

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_counter (id int PRIMARY KEY, n bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_counter SELECT g, 0 FROM generate_series(0, 63) g ON CONFLICT DO NOTHING")
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_event (id bigserial PRIMARY KEY, user_id int, at timestamptz)")
    total = n + WARMUP
    staff = User.objects.create(username="staff@bench.io", email="staff@bench.io", is_staff=True)
    now = timezone.now()
    onboardings = [
        engine.start(Onboarding, actor="bench", athlete=athlete, schedule=_timers(now, now))
        for athlete in engine_bench.make_athletes(2 * total)
    ]
    return {
        "tokens": http_booking.athletes(4, credits=total + 5),
        "slots": http_booking.slots(total),
        "staff": Token.objects.create(user=staff).key,
        "status_ids": [str(w.pk) for w in onboardings[:total]],
        "step_ids": [str(w.pk) for w in onboardings[total:]],
    }


def child(kinds: list[str], data: dict, n: int) -> None:
    """For each kind in turn: warm it up, then run it n times inside eval() (collected,
    and dumped to its own file when eval returns)."""
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    client = Client()

    def post(path, body, token):
        response = client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 201, response.content

    def baseline(i):
        post("/bench/baseline/", {}, data["tokens"][i % 4])

    def booking(i):
        post("/api/bookings/", {"slot_id": data["slots"][i]}, data["tokens"][i % 4])

    def status(i):
        response = client.get(f"/api/workflows/{data['status_ids'][i]}/", HTTP_AUTHORIZATION=f"Token {data['staff']}")
        assert response.status_code == 200, response.content

    def step(i):
        from onboarding.models import Onboarding
        from zea.workflows import engine

        engine.transition(Onboarding(pk=data["step_ids"][i]), "complete_profile", actor="bench")

    def bare(i):
        from django.db import connection

        raw = connection.connection  # the same psycopg connection, without Django around it
        with raw.transaction():
            raw.execute("UPDATE bench_counter SET n = n + 1 WHERE id = %s", [i % 64])
            raw.execute("INSERT INTO bench_event (user_id, at) VALUES (%s, now())", [i])

    actions = {"baseline": baseline, "booking": booking, "status": status, "step": step, "bare": bare}
    from django.db import connection

    connection.ensure_connection()
    for kind in kinds:
        action = actions[kind]
        for i in range(WARMUP):
            action(i)
        offset = WARMUP if kind not in ("baseline", "bare") else 0

        def run():
            for i in range(n):
                action(offset + i)  # noqa: B023 — run() is called right away

        eval("run()", {"run": run})  # the toggle: collection starts here and stops (and dumps) on return


def count(kinds: list[str], data_file: str, n: int) -> dict[str, int]:
    """Instructions of n runs of each kind, collected by callgrind in one child process
    (one valgrind start-up: it is most of the time), one dump per kind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=no",
                "--toggle-collect=builtin_eval",
                "--dump-after=builtin_eval",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--child",
                ",".join(kinds),
                data_file,
                str(n),
            ],
            check=True,
            cwd=HERE.parent,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        dumps = sorted(Path(tmp).glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
        # Libraries call eval() too while they load (typing's forward references): those
        # dumps come first; ours are the last ones, one per kind, in order.
        counts = [int(re.search(r"^totals:\s+(\d+)", d.read_text(), re.MULTILINE).group(1)) for d in dumps]
    return dict(zip(kinds, counts[-len(kinds) :], strict=True))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "DATA", "N"))
    args = parser.parse_args()
    if args.child:
        kinds, data_file, n = args.child
        common.setup_django()
        import zea.wsgi  # noqa: F401 — the web process's own set-up (its garbage collector's)

        child(kinds.split(","), json.loads(Path(data_file).read_text()), int(n))
        return
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    n = 5 if args.quick else 20
    common.fresh_database()
    common.setup_django()
    data = prepare(n)
    print(f"instructions per request in the Django process (callgrind, {n} each after {WARMUP} warm-up)")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as data_file:
        json.dump(data, data_file)
        data_file.flush()
        kinds = list(dict.fromkeys(kind for pair in PAIRS for kind in pair))
        counted = {kind: total / n for kind, total in count(kinds, data_file.name, n).items()}
    for measured, baseline in PAIRS:
        common.report(
            f"{measured}: instructions per request",
            counted[measured] / 1e6,
            "M instr",
            counted[baseline] / 1e6,
            baseline,
        )


if __name__ == "__main__":
    main()
