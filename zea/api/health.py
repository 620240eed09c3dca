"""GET /healthz/: 200 when PostgreSQL and Redis answer, else 503 naming the culprit."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 — a health check reports any failure
        return f"error: {type(exc).__name__}"


def _check_redis() -> str:
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


def healthz(request):
    checks = {"postgresql": _check_database(), "redis": _check_redis()}
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **checks}
    if not healthy:
        down = ", ".join(name for name, value in checks.items() if value != "ok")
        body |= {"code": "unavailable", "detail": f"Not answering: {down}."}
    return JsonResponse(body, status=200 if healthy else 503)
