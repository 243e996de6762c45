"""The agent console's pages (the data comes from console.api, live over server-sent events)."""
from __future__ import annotations

from flask import Blueprint, render_template

from console.words import WORDS, page_language
from tickets import ComplaintCategory, Demand

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")


@bp.get("/")
def agent_console():
    lang = page_language()
    return render_template("console.html", words=WORDS[lang], lang=lang,
                           categories=[c.value for c in ComplaintCategory], demands=[d.value for d in Demand])


@bp.get("/wallboard")
def wallboard():
    lang = page_language()
    return render_template("wallboard.html", words=WORDS[lang], lang=lang)
