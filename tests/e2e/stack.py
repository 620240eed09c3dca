"""A real ZEA stack for end-to-end tests: gunicorn, a Celery worker and beat as
processes, on a scratch PostgreSQL database and Redis dbs of their own."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STAFF = ("admin", "admin-pass-123")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REDIS_SERVER = shutil.which("redis-server")


class Stack:
    def __init__(self, name: str, redis_db: int, **env):
        self.db_name = f"zea_e2e_{name}_{os.getpid()}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # A Redis server of the stack's own, so a test may stop it or flush it without
        # touching anyone else's; the machine's shared Redis (dbs of our own) otherwise.
        self.redis_port = free_port() if REDIS_SERVER else 6379
        db = 0 if REDIS_SERVER else redis_db
        self.broker = f"redis://127.0.0.1:{self.redis_port}/{db}"
        self.results = f"redis://127.0.0.1:{self.redis_port}/{db + 1}"
        self.logdir = Path(os.environ.get("ZEA_E2E_LOGS", "/tmp")) / f"zea-e2e-{self.db_name}"
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "zea.settings",
            "DATABASE_URL": f"postgres:///{self.db_name}",
            "CELERY_BROKER_URL": self.broker,
            "CELERY_RESULT_BACKEND": self.results,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECRET_KEY": "e2e-only-secret-key-3b9d1f7a5c2e8b4d6f0a9c1e3b5d7f9a2c4e6b8d",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.logdir / "mail"),
            "ZEA_SWEEP_INTERVAL": "1s",
            "ZEA_THROTTLE_REGISTER": "100000/min",
            "ZEA_THROTTLE_LOGIN": "100000/min",
            "ZEA_THROTTLE_LOGIN_USER": "100000/min",
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            **env,
        }
        self.env.pop("PYTEST_XDIST_WORKER", None)
        self.procs: dict[str, subprocess.Popen] = {}
        self._staff_token = None

    # --- lifecycle -----------------------------------------------------------
    def setup(self, template: str | None = None):
        """A fresh database: copied from `template` (migrated once per test session), else migrated here."""
        if REDIS_SERVER:
            self.redis_up()
        self.flush_redis()
        with psycopg.connect(dbname="postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.db_name)))
            if template:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(self.db_name), sql.Identifier(template)
                    )
                )
        if not template:
            make_database(self.db_name, self.env)
        return self

    def teardown(self):
        for name in list(self.procs):
            if name != "redis":
                self.stop(name)
        if REDIS_SERVER:
            self.stop("redis")
        else:
            self.flush_redis()
        with psycopg.connect(dbname="postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.db_name)))

    def manage(self, *args, check=True, timeout=120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    COMMANDS = {
        "web": lambda self: [
            str(BIN / "gunicorn"),
            "zea.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            self.env.get("WEB_CONCURRENCY", "2"),
            "--preload",  # as in the Procfile: the workers share the imported code
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
        ],
        "worker": lambda self: [
            str(BIN / "celery"),
            "-A",
            "zea",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--pool",
            self.env.get("WORKER_POOL", "threads"),  # as in the Procfile
            "-Q",
            "timers,notifications,reports,default",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"e2e-{uuid.uuid4().hex[:6]}@%h",
        ],
        "redis": lambda self: [
            REDIS_SERVER,
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        "beat": lambda self: [
            str(BIN / "celery"),
            "-A",
            "zea",
            "beat",
            "--loglevel",
            "INFO",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--schedule",
            str(self.logdir / "beat-schedule"),
        ],
    }

    def start(self, *names):
        for name in names:
            with open(self.logdir / f"{name}.log", "a") as log:  # the child keeps its own copy
                self.procs[name] = subprocess.Popen(
                    self.COMMANDS[name](self),
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        if "web" in names:
            self.wait(lambda: self._answers(), timeout=30, what="web to answer")
        if "worker" in names:
            self.wait(lambda: "ready." in self.log("worker"), timeout=30, what="worker to be ready")
        return self

    def stop(self, name, sig=signal.SIGTERM):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def kill(self, name):
        """kill -9 the whole process group (the main process and its children)."""
        self.stop(name, signal.SIGKILL)

    def log(self, name) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def redis_up(self):
        """Start (or restart) the stack's own Redis, empty, on the same port."""
        self.start("redis")
        self.wait(self._redis_answers, timeout=10, what="redis to answer")

    def redis_down(self):
        self.kill("redis")

    def _redis_answers(self):
        try:
            client = redis.Redis(port=self.redis_port, socket_connect_timeout=0.5)
            return client.ping()
        except redis.RedisError:
            return False

    def flush_redis(self):
        for url in (self.broker, self.results):
            client = redis.Redis.from_url(url)
            client.flushdb()
            client.close()

    # --- helpers -------------------------------------------------------------
    def _answers(self):
        try:
            with urllib.request.urlopen(self.base + "/healthz/", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    @staticmethod
    def wait(predicate, timeout=30.0, interval=0.2, what="condition", seen=None):
        """Poll `predicate`; on timeout, say what was waited for and what `seen()` finds then."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        found = f"; found {seen()}" if seen else ""
        raise AssertionError(f"timed out after {timeout}s waiting for {what}{found}")

    def call(self, method, path, body=None, token=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Token {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    @property
    def staff_token(self):
        if self._staff_token is None:
            status, body = self.call("POST", "/api/auth/token/", {"username": STAFF[0], "password": STAFF[1]})
            assert status == 200, body
            self._staff_token = body["token"]
        return self._staff_token

    def sql(self, query, params=()):
        with psycopg.connect(dbname=self.db_name) as conn:
            return conn.execute(query, params).fetchall()

    def event_counts(self, execution_ids, **where) -> dict[str, int]:
        """Audit events per execution among `execution_ids` matching one column, e.g.
        `target="expired"`: {execution_id: count}, executions without one left out."""
        ((column, value),) = where.items()
        query = sql.SQL(
            "SELECT execution_id::text, count(*) FROM workflows_auditevent "
            "WHERE {} = %s AND execution_id::text = ANY(%s) GROUP BY 1"
        ).format(sql.Identifier(column))
        return dict(self.sql(query, (value, list(execution_ids))))

    def each_once(self, execution_ids, **where) -> bool:
        """Whether every one of `execution_ids` has exactly one such audit event."""
        counts = self.event_counts(execution_ids, **where)
        return len(counts) == len(execution_ids) and set(counts.values()) == {1}

    def register(self, email=None):
        email = email or f"e2e-{uuid.uuid4().hex[:10]}@example.com"
        status, body = self.call(
            "POST",
            "/api/onboarding/register/",
            {"email": email, "password": "E2e-pass-12345!", "first_name": "Eve", "last_name": "E2e"},
        )
        assert status == 201, body
        return body | {"email": email}

    def sent_mail(self, to: str | None = None) -> list[str]:
        """Messages the file email backend wrote (optionally only those to `to`)."""
        folder = self.logdir / "mail"
        if not folder.exists():
            return []
        messages = []
        for path in sorted(folder.glob("*")):
            messages += [m for m in path.read_text(errors="replace").split("-" * 79) if m.strip()]
        return [m for m in messages if to is None or f"To: {to}" in m]


PROFILE = {
    "date_of_birth": "1990-01-01",
    "phone": "+34600111222",
    "sport": "tennis",
    "emergency_contact_name": "Pep",
    "emergency_contact_phone": "+34600333444",
}


def make_database(name: str, env: dict) -> None:
    """Create, migrate and give a staff login to database `name`."""
    with psycopg.connect(dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = {
        **env,
        "DATABASE_URL": f"postgres:///{name}",
        "DJANGO_SUPERUSER_PASSWORD": STAFF[1],
        "DJANGO_SETTINGS_MODULE": "zea.settings",
    }
    for args in (
        ["migrate", "--noinput", "-v0"],
        ["createsuperuser", "--noinput", "--username", STAFF[0], "--email", "admin@zea.example"],
    ):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def drop_database(name: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class Platform:
    """Drives a running stack over HTTP the way clients do (coach, slots, athletes)."""

    def __init__(self, stack: Stack):
        self.stack = stack

    def coach(self):
        email = f"coach-{uuid.uuid4().hex[:8]}@example.com"
        status, coach = self.stack.call(
            "POST",
            "/api/coaches/",
            {
                "email": email,
                "password": "E2e-pass-12345!",
                "first_name": "Co",
                "last_name": "Ach",
                "hourly_rate": "30",
            },
            token=self.stack.staff_token,
        )
        assert status == 201, coach
        status, body = self.stack.call("POST", "/api/auth/token/", {"username": email, "password": "E2e-pass-12345!"})
        assert status == 200, body
        return coach | {"token": body["token"]}

    def athlete(self, credits=3):
        athlete = self.stack.register()
        status, body = self.stack.call("PUT", "/api/athletes/me/profile/", PROFILE, token=athlete["token"])
        assert status == 200, body
        if credits:
            status, body = self.stack.call(
                "POST",
                "/api/credits/grants/",
                {"athlete_id": athlete["athlete_id"], "amount": credits, "reason": "e2e"},
                token=self.stack.staff_token,
            )
            assert status == 201, body
        return athlete

    def slots(self, coach, count, capacity=1, first_in_hours=2):
        from datetime import UTC, datetime, timedelta

        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=first_in_hours)
        made = []
        for i in range(count):
            begins = start + timedelta(hours=i)
            status, slot = self.stack.call(
                "POST",
                "/api/slots/",
                {
                    "coach_id": coach["coach_id"],
                    "starts_at": begins.isoformat(),
                    "ends_at": (begins + timedelta(minutes=50)).isoformat(),
                    "capacity": capacity,
                },
                token=self.stack.staff_token,
            )
            assert status == 201, slot
            made.append(slot)
        return made

    def book(self, athlete, slot):
        return self.stack.call("POST", "/api/bookings/", {"slot_id": slot["id"]}, token=athlete["token"])

    def record_time(self, coach, session_id, minutes=45):
        from datetime import UTC, datetime, timedelta

        end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        return self.stack.call(
            "POST",
            f"/api/sessions/{session_id}/record-time/",
            {"started_at": (end - timedelta(minutes=minutes)).isoformat(), "ended_at": end.isoformat()},
            token=coach["token"],
        )
