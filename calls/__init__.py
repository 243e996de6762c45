"""A call's life: its typed session, where it is kept, and the one service that runs it."""
from calls.service import CallService, get_calls
from calls.session import CallSession, Phase

__all__ = ["CallService", "CallSession", "Phase", "get_calls"]
