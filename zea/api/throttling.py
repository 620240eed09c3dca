"""DRF's throttles, counting in the shared cache, and letting requests through while it
is unreachable.

The counts live in Redis (CACHES), so every web worker shares them and a restart does not
reset them. A request never needs Redis otherwise (PostgreSQL is the truth): with Redis
down a login or a registration goes on unthrottled rather than failing.
"""

import logging

from redis.exceptions import RedisError
from rest_framework import throttling

logger = logging.getLogger(__name__)


class FailOpenMixin:
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except RedisError:
            logger.warning("throttle %s let a request through: its cache is unreachable", type(self).__name__)
            return True


class ScopedRateThrottle(FailOpenMixin, throttling.ScopedRateThrottle):
    pass


class SimpleRateThrottle(FailOpenMixin, throttling.SimpleRateThrottle):
    pass
