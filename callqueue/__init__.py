"""Callbacks and the RQ jobs that fire them (the agent queue and campaigns grow here)."""
from callqueue.callbacks import SLOTS, book_callback, requested_time
from callqueue.hours import CallingHours
from callqueue.jobs import dial_callback, get_queue, recover_callbacks, schedule_callback
from callqueue.models import Callback, CallbackAttempt, CallbackStatus, DoNotCall

__all__ = [
    "SLOTS", "Callback", "CallbackAttempt", "CallbackStatus", "DoNotCall", "CallingHours", "book_callback", "dial_callback",
    "get_queue", "requested_time", "recover_callbacks", "schedule_callback",
]
