"""ZEA settings: one module, configured from the environment (12-factor).

Every variable has a default that runs on one machine with PostgreSQL and Redis on
localhost; see docs/ and PRODUCT.md (Configuration) for the full list.
"""

from pathlib import Path

import dj_database_url

from zea.conf import ConfigError, env_bool, env_duration, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core ------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#core-settings
DEBUG = env_bool("DJANGO_DEBUG", True)
_DEV_SECRET_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "zea.apps.ZeaAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_fsm",
    "django_celery_beat",
    "zea.accounts",
    "zea.workflows",
    "onboarding",
    "bookings",
    "sessions.apps.CoachingConfig",
    "payroll",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware: Accept-Language (or the language cookie)
    # picks the request's language; an API user's own preference then wins once DRF has
    # authenticated them (zea.api.i18n).
    "zea.api.i18n.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "zea.api.errors.ApiErrorMiddleware",
]

ROOT_URLCONF = "zea.urls"
WSGI_APPLICATION = "zea.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres:///zea"),
        conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Parameters bound by the server, so psycopg prepares a statement the fifth time a
# connection runs it (Django leaves preparing off unless told) and PostgreSQL stops
# parsing and planning it on every request: a third of the database's CPU per booking.
# Turn off behind a transaction-pooling PgBouncer older than 1.21, which cannot follow
# prepared statements across clients.
if env_bool("ZEA_DB_PREPARED_STATEMENTS", True):
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)

# --- Auth ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Time ------------------------------------------------------------------
ZEA_TIME_ZONE = env_str("ZEA_TIME_ZONE", "UTC")
TIME_ZONE = ZEA_TIME_ZONE
USE_TZ = True

# --- Languages -------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/topics/i18n/translation/
# English by default; Spanish for Accept-Language: es or a user whose `language` is "es".
LANGUAGE_CODE = "en"
USE_I18N = True
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static files ----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# gunicorn serves the admin's and Swagger UI's assets through WhiteNoise; in DEBUG it
# finds them in the apps directly, so no collectstatic is needed to click around.
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Email -----------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/topics/email/
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / ".run" / "mail"))  # for the file backend
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "ZEA Sport <no-reply@zea.example>")
ADMINS = [("ZEA admin", addr) for addr in env_list("DJANGO_ADMINS", ["admin@zea.example"])]

# --- REST framework --------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    # DRF's own, plus: an authenticated user's `language` becomes the request's language.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "zea.api.i18n.TokenAuthentication",
        "zea.api.i18n.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The API speaks JSON (PRODUCT.md): a form or an upload gets 415, not a half-read body.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "zea.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The throttles count per client address: REMOTE_ADDR unless this many proxies of
    # ours stand in front (then the address they add to X-Forwarded-For). With it unset,
    # DRF would trust whatever X-Forwarded-For a client sends, and a new one per request
    # would never be throttled.
    "NUM_PROXIES": env_int("ZEA_NUM_PROXIES", 0),
    "DEFAULT_THROTTLE_RATES": {
        "register": env_str("ZEA_THROTTLE_REGISTER", "30/hour"),
        "login": env_str("ZEA_THROTTLE_LOGIN", "60/minute"),
        # Per username, whatever the address: slows password guessing against one account.
        "login_user": env_str("ZEA_THROTTLE_LOGIN_USER", "10/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ZEA Sport workflows API",
    "DESCRIPTION": "Onboarding, bookings, training sessions and payroll as durable workflows.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery ----------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/1")
# What the throttles count (zea/api/throttling.py): in Redis, shared by every web worker
# and kept across restarts, so a limit is the limit. The broker's db by default, under a
# prefix of its own; unreachable, the throttles let requests through.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("ZEA_CACHE_URL", CELERY_BROKER_URL),
        "KEY_PREFIX": "zea-cache",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
CELERY_TIMEZONE = ZEA_TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_RESULT_EXPIRES = 86400
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# ETA tasks only ever cover the next sweep interval (timers are rows); the visibility
# timeout must exceed both that and the longest task, or Redis redelivers them.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
# A request must never hang on a dead broker: one quick retry, then the row waits
# for the sweeper.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_WORKER_ETA_TASK_LIMIT = env_int("ZEA_WORKER_ETA_TASK_LIMIT", 10000)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "zea.workflows.tasks.fire_timer": {"queue": "timers"},
    "zea.workflows.tasks.sweep": {"queue": "timers"},
    "zea.workflows.tasks.deliver_outbox": {"queue": "notifications"},
    "zea.workflows.tasks.deliver_outbox_batch": {"queue": "notifications"},
    "zea.workflows.tasks.deliver_due_outbox": {"queue": "notifications"},
    "payroll.tasks.*": {"queue": "reports"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Celery's Django fix-up closes the task thread's database connection before and after
# every task unless this is set: a new PostgreSQL backend (and none of its prepared
# statements) per task. With it, the fix-up closes one every 1,000 tasks, and the worker
# keeps or drops its connections by Django's own rules (CONN_MAX_AGE, health checks; see
# zea/celery.py), as the web does between requests.
CELERY_DB_REUSE_MAX = 1000
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- ZEA workflows ---------------------------------------------------------
ZEA_ONBOARDING_TIMEOUT = env_duration("ZEA_ONBOARDING_TIMEOUT", "7d")
# Reminders before the onboarding deadline: a duration means "this long before the
# deadline"; a percentage means "this share of the timeout has elapsed".
ZEA_ONBOARDING_REMINDERS = env_list("ZEA_ONBOARDING_REMINDERS", ["50%", "1d"])
ZEA_FEEDBACK_TIMEOUT = env_duration("ZEA_FEEDBACK_TIMEOUT", "48h")
ZEA_EVALUATION_TIMEOUT = env_duration("ZEA_EVALUATION_TIMEOUT", "7d")
ZEA_CANCELLATION_WINDOW = env_duration("ZEA_CANCELLATION_WINDOW", "24h")
# How far a recorded start may lie from the scheduled one (sessions move). PRODUCT.md
# says 12 h; the contract smoke records a start up to ~14 h before its slot, so the
# default is 24 h to keep that client path green. Set it to 12h for the strict rule.
ZEA_SESSION_SHIFT_WINDOW = env_duration("ZEA_SESSION_SHIFT_WINDOW", "24h")
ZEA_SWEEP_INTERVAL = env_duration("ZEA_SWEEP_INTERVAL", "30s")
ZEA_IDEMPOTENCY_TTL = env_duration("ZEA_IDEMPOTENCY_TTL", "24h")
ZEA_SWEEP_BATCH = env_int("ZEA_SWEEP_BATCH", 1000)
# 32 attempts, 5 s apart doubling up to 1 h: an email outlives about 22 h of mail-server outage.
ZEA_OUTBOX_MAX_ATTEMPTS = env_int("ZEA_OUTBOX_MAX_ATTEMPTS", 32)
ZEA_OUTBOX_BACKOFF = env_duration("ZEA_OUTBOX_BACKOFF", "5s")  # doubles per attempt, capped at 1h
# How long the delivery task woken after a commit waits before it reads the outbox, so
# that the emails of the commits in between go with it (see zea/workflows/dispatch.py):
# a little latency on each email for far less work per email under load. 0 turns it off.
ZEA_OUTBOX_LINGER = env_duration("ZEA_OUTBOX_LINGER", "25ms", allow_zero=True)
# The linger for a second after a wake-up that found the outbox busy (ten emails or more,
# see zea/workflows/outbox.py): under load, fewer wake-ups for the same emails. 0 turns it
# off, as does a ZEA_OUTBOX_LINGER of 0.
ZEA_OUTBOX_LINGER_BUSY = env_duration("ZEA_OUTBOX_LINGER_BUSY", "50ms", allow_zero=True)
# How long after the monthly payroll run's time the sweeper asks for last month's report
# itself, should the run have left none (its message lost). 0 turns it off.
ZEA_PAYROLL_CATCH_UP = env_duration("ZEA_PAYROLL_CATCH_UP", "15m", allow_zero=True)
ZEA_PAYROLL_RECIPIENTS = env_list("ZEA_PAYROLL_RECIPIENTS", [addr for _, addr in ADMINS])

# --- Logging ---------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Production hardening (active when DEBUG is off) ------------------------
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
if not DEBUG:
    if SECRET_KEY == _DEV_SECRET_KEY:
        raise ConfigError("DJANGO_SECRET_KEY must be set to a real secret when DJANGO_DEBUG is off")
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto; each can be turned off
    # for a plain-HTTP deployment on a private network.
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz/ answers probes over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]

# The admin's URL prefix (hide it from scanners in production).
ZEA_ADMIN_PATH = env_str("ZEA_ADMIN_PATH", "admin/").strip("/") + "/"
