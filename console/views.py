"""The agent console's pages (the data comes from console.api, live by polling)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from console.phone import twilio_phone
from console.security import CONTENT_SECURITY_POLICY
from console.words import WORDS, page_language
from tickets import ComplaintCategory, Demand

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")
# With the Twilio Voice JS SDK the console also reaches Twilio's voice servers (signalling and
# event reports; the call's audio is WebRTC) and plays the SDK's ring tones.
TWILIO_SOURCES = "; connect-src 'self' wss://*.twilio.com https://*.twilio.com; media-src 'self' https://sdk.twilio.com"


@bp.get("/")
def agent_console():
    lang, twilio = page_language(), twilio_phone(current_app.config)
    page = render_template("console.html", words=WORDS[lang], lang=lang, twilio_phone=twilio,
                           categories=[c.value for c in ComplaintCategory], demands=[d.value for d in Demand])
    return page, {"Content-Security-Policy": CONTENT_SECURITY_POLICY + TWILIO_SOURCES} if twilio else {}


@bp.get("/wallboard")
def wallboard():
    lang = page_language()
    return render_template("wallboard.html", words=WORDS[lang], lang=lang)
