"""Test settings: the real settings, pointed at Redis db numbers of the tests' own.

Each pytest-xdist worker gets its own pair of Redis dbs (broker, results) so workers
never see each other's messages; `make run` keeps dbs 0 and 1 to itself and the benches
14 and 15, so six workers at most (`-n 6`) fit between them.
"""

import os
from datetime import timedelta

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_index = int(_worker[2:]) if _worker[2:].isdigit() else 0
_base = int(os.environ.get("ZEA_TEST_REDIS_BASE", "2")) + 2 * _index
if _base + 1 >= 14:
    raise RuntimeError(
        f"xdist worker {_worker} would use Redis dbs {_base}-{_base + 1}, the benches' (14, 15) or past "
        "the server's 16: run at most 6 workers, or set ZEA_TEST_REDIS_BASE"
    )
os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:6379/{_base}"
os.environ["CELERY_RESULT_BACKEND"] = f"redis://127.0.0.1:6379/{_base + 1}"
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-0f6a1c9e2b8d4a7f9c3e5b1d7a2f8c4e6b0d3a9f")

from zea.settings import *  # noqa: E402,F403
from zea.settings import DATABASES, REST_FRAMEWORK  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The one-per-minute throttles would trip the suite; throttling has its own tests.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"register": "10000/min", "login": "10000/min", "login_user": "10000/min"},
}
# Off: any test's sweep after the 1st of a month would ask for last month's payroll
# report (and not on the 1st before the run): its own tests turn it on, at dates they set.
ZEA_PAYROLL_CATCH_UP = timedelta(0)
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("ZEA_TEST_DB_NAME", "test_zea")}
# Worker threads close their connections after each task, so the test database can be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0
