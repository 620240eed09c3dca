"""Time stamps shared by the bench process and the stack's processes, kept in Redis."""

import functools
import time

import redis
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

KEY = "bench:sent"


@functools.cache
def client():
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


class StampingEmailBackend(BaseEmailBackend):
    """Sends nothing; records when each recipient's message was handed to the backend.

    Like the SMTP backend, a connection the caller opened serves every message until it
    is closed, and the stamps taken meanwhile go to Redis in one write when it closes.
    The outbox holds one connection per batch: one write per batch, not one round trip
    per email, which was half the worker's CPU per email and charged the bench's
    own bookkeeping to a booking. The stamp is still the moment of the hand-over.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stamps = None  # while a connection is open

    def open(self):
        if self._stamps is not None:
            return False
        self._stamps = {}
        return True

    def close(self):
        stamps, self._stamps = self._stamps, None
        if stamps:
            client().hset(KEY, mapping=stamps)

    def send_messages(self, messages):
        opened_here = self.open()
        try:
            self._stamps.update({message.to[0]: time.time() for message in messages})
        finally:
            if opened_here:
                self.close()
        return len(messages)
