"""What the sessions app tells others, without knowing them."""

from django.dispatch import Signal

# Sent inside record_time's transaction with the recorded `session`: a receiver's writes
# (an outbox email) commit or roll back with the recording.
time_recorded = Signal()
