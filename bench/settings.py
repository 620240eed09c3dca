"""Settings for benchmark stacks: the real settings plus bench-only endpoints, tasks and
an email backend that stamps when a message is handed over."""

from zea.settings import *  # noqa: F403
from zea.settings import INSTALLED_APPS

ROOT_URLCONF = "bench.urls"
EMAIL_BACKEND = "bench.stamps.StampingEmailBackend"
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
CELERY_IMPORTS = ["bench.tasks"]
