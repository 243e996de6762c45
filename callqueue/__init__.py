"""Callbacks and the RQ jobs that fire them (the agent queue and campaigns grow here)."""
from callqueue.callbacks import SLOTS, book_callback, requested_time
from callqueue.hours import CallingHours
from callqueue.jobs import dial_callback, get_queue, reschedule_pending, schedule_callback
from callqueue.models import Callback, CallbackStatus

__all__ = [
    "SLOTS", "Callback", "CallbackStatus", "CallingHours", "book_callback", "dial_callback",
    "get_queue", "requested_time", "reschedule_pending", "schedule_callback",
]
