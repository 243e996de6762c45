"""The telephony edge: Twilio webhooks, TwiML, signatures, Media Streams, call sessions, the simulator."""
