"""The telephony edge: Twilio webhooks, TwiML, signatures, call sessions, the simulator."""
from ivr.views import bp

__all__ = ["bp"]
