"""The console's JSON API: what the agent console and dashboard pages call, and what the
simulated agents use. State-changing requests must be JSON (a cross-site form cannot send it) and,
from a browser, come from our own pages (console.security); who may do what is console.policy's."""
from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from callqueue.acd import AcdError, AgentState, Offer
from callqueue.callbacks import SLOTS, book_callback
from callqueue.destinations import CallbackRefused
from callqueue.jobs import agent_reserved_dialled, schedule_callback_job
from callqueue.routing import connect, kept_place_key, scheduled_callback_attempt
from calls import get_calls
from clock import to_naive_utc
from config import LANGUAGES
from console import policy
from console.auth import LoginLocked, WrongLogin, current_user, log_in, log_out, login_required
from console.security import same_origin_required
from database import get_session
from ivr.telephony import get_telephony
from logs import mask_text
from masking import mask_phone
from redis_conn import get_redis
from tickets import (
    TRANSITIONS,
    ComplaintCategory,
    Demand,
    TransitionError,
    apply,
    clocks,
    edit_ticket,
    file_complaint,
)
from tickets.models import Ticket
from tracking.carriers import CARRIERS, normalise_waybill
from tracking.service import find_parcel, normalise_phone

log = logging.getLogger(__name__)
bp = Blueprint("console_api", __name__, url_prefix="/console/api")
bp.before_request(same_origin_required)
# Years a report may cover: any the hotline can have records for (a period in year 1 or 9999 has no
# UTC bounds).
REPORT_YEARS = range(2000, 2100)


class BadRequest(ValueError):
    pass


def _body() -> dict:
    if request.method == "POST":
        if not request.is_json:
            abort(415, description="send JSON (Content-Type: application/json)")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body
    return {}


def _field(body: dict, name: str, choices=None, limit: int | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} is required")
    if choices is not None and value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}")
    if limit is not None and len(value.strip()) > limit:
        raise BadRequest(f"{name} is longer than {limit} characters")
    return value.strip()


def _arg(name: str, *, choices=None, default: str = "", pattern: str = "", example: str = "") -> str:
    """A query parameter: one of `choices`, or whole-matching `pattern` (an `example` in the error)."""
    value = request.args.get(name, default)
    if choices is not None and value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(c or '(empty)' for c in choices)}")
    if pattern and not re.fullmatch(pattern, value, re.ASCII):
        raise BadRequest(f"{name} must look like {example}")
    return value


@bp.errorhandler(BadRequest)
def bad_request(error):
    return jsonify(error=str(error)), 400


@bp.errorhandler(AcdError)
@bp.errorhandler(TransitionError)
def conflict(error):
    return jsonify(error=str(error)), 409


@bp.errorhandler(HTTPException)
def http_error(error):
    return jsonify(error=error.description), error.code


@bp.errorhandler(SQLAlchemyError)
@bp.errorhandler(RedisError)
def storage_out_of_reach(error):
    # An outage is the server's, not the agent's: say so and when to try again, never a 500.
    log.warning("console API %s refused during an outage: %s", request.path, type(error).__name__)
    return (jsonify(error="the hotline's database or Redis is out of reach: try again shortly", retry_after_s=5),
            503, {"Retry-After": "5"})


@bp.errorhandler(WrongLogin)
def wrong_login(_error):
    return jsonify(error="wrong username or password"), 401


@bp.errorhandler(LoginLocked)
def login_locked(error):
    return jsonify(error=str(error), retry_after_s=error.retry_after_s), 429, {"Retry-After": str(error.retry_after_s)}


def _local(moment) -> str:
    """A stored (UTC) time as agents read it: the hotline's local time, to the minute."""
    return current_app.extensions["calling_hours"].stamp(moment)


def _now() -> float:
    return current_app.config["CLOCK"]().timestamp()


@bp.post("/login")
def login():
    body = _body()
    user = log_in(_field(body, "username", limit=64), _field(body, "password", limit=256))
    return jsonify(user=_user_json(user))


@bp.post("/logout")
def logout():
    log_out()
    return jsonify(ok=True)


def _user_json(user) -> dict:
    return {"username": user.username, "role": user.role, "name": user.display_name,
            "languages": user.languages, "categories": user.categories}


@bp.get("/me")
@login_required()
def me():
    """The agent's state and offer; the console polls it (see _polled)."""
    return _polled(_agent_view(current_user().username))


def _polled(view: dict) -> Response:
    """A view the pages poll every second or two instead of holding a stream open: each poll is
    a short request (no web thread or database session kept between them), answered 304 when
    the view has not changed since the ETag the page sent. A poll is not the agent's activity:
    it does not hold off the session's idle timeout."""
    g.passive_request = True
    response = jsonify(view)
    response.add_etag()
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def _agent_view(agent_id: str) -> dict:
    agent = get_calls().acd().agent(agent_id)
    call_sid = agent.get("call") or ""
    view = {"user": _user_json(current_user()), "state": agent["state"], "offer": None}
    if call_sid:
        view["offer"] = {"call_sid": call_sid, **screen_pop(call_sid)}
    return view


def screen_pop(call_sid: str) -> dict:
    """What an agent sees as a call is offered: who, which parcel, what they said, their history."""
    calls = get_calls()
    acd_call = calls.acd().call(call_sid)
    call = calls.load(call_sid)
    variables = call.flow_vars if call else {}
    phone = normalise_phone(acd_call.get("phone") or (call.customer if call else ""))
    db = get_session()
    verified = variables.get("party") in ("recipient", "sender")
    parcel = find_parcel(db, variables["waybill"]) if verified and variables.get("waybill") else None
    earlier = db.scalars(select(Ticket).where(Ticket.phone == phone, policy.readable_tickets(current_user()))
                         .order_by(Ticket.id.desc()).limit(5)).all()
    return {
        "caller": mask_phone(phone),
        "kept_place": acd_call.get("callback") == "1",
        "priority": [p for p in acd_call.get("priority", "").split(",") if p],
        "line": acd_call["skill"],
        "category": variables.get("category", ""),
        "waybill": parcel.waybill if parcel else None,
        "parcel": None if parcel is None else {
            "status": parcel.status.value, "carrier": parcel.carrier,
            "route": f"{parcel.origin} → {parcel.destination}",
            "scans": [{"at": s.at.isoformat(timespec="minutes"), "location": s.location, "status": s.status.value}
                      for s in parcel.scans],
        },
        "ivr": call.transcript if call else [],
        "earlier_tickets": [{"number": t.number, "category": t.category.value, "status": t.status.value}
                            for t in earlier],
    }


@bp.post("/state")
@login_required()
def set_state():
    body = _body()
    state = AgentState(_field(body, "state", [s.value for s in (AgentState.AVAILABLE, AgentState.BREAK,
                                                                 AgentState.OFFLINE)]))
    agent_id = current_user().username
    _end_a_call_that_ended_without_finish(agent_id)
    get_calls().acd().set_state(agent_id, state, _now())
    return jsonify(_agent_view(agent_id))


def _end_a_call_that_ended_without_finish(agent_id: str) -> None:
    """An agent still on_call whose caller's call has ended: their finish never arrived (an
    outage failed it, the console was closed): wrap the call up, or they could never go
    available again."""
    calls = get_calls()
    acd = calls.acd()
    agent = acd.agent(agent_id)
    if agent["state"] == AgentState.ON_CALL.value and agent.get("call") and calls.store.has_ended(agent["call"]):
        acd.finish(agent_id, _now())


@bp.post("/accept")
@login_required()
def accept():
    body = _body()
    call_sid = _field(body, "call_sid")
    acd = get_calls().acd()
    agent_id = current_user().username
    acd.accept(agent_id, call_sid, _now())
    acd_call = acd.call(call_sid)
    base = current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")
    offer = Offer(call_sid, agent_id, acd_call["skill"], acd_call.get("callback") == "1")
    scheduled = scheduled_callback_attempt(call_sid) is not None
    try:
        ringing = connect(offer, acd_call.get("phone", ""), get_telephony(), base)
    except Exception as error:  # the carrier refused: the caller has gone, or no pacing slot came
        log.warning("call %s could not be connected to %s: %s", call_sid, agent_id, error)
        if not offer.callback:
            acd.finish(agent_id, _now())
        else:
            acd.callback_unanswered(call_sid, _now(), keep_place=not scheduled)
            if scheduled:
                agent_reserved_dialled(get_session(), call_sid, None, to_naive_utc(current_app.config["CLOCK"]()))
        # The carrier's words may hold the customer's number: masked, as in the screen pop.
        return jsonify(error=f"the call could not be connected ({mask_text(str(error))})"), 503
    if offer.callback:
        get_redis().set(kept_place_key(ringing), call_sid, ex=3600)
        if scheduled:
            agent_reserved_dialled(get_session(), call_sid, ringing, to_naive_utc(current_app.config["CLOCK"]()))
    return jsonify(connected=call_sid, ringing=ringing, kept_place=offer.callback)


@bp.post("/finish")
@login_required()
def finish():
    body = _body()
    disposition = _field(body, "disposition", ["resolved", "ticket_opened", "callback_booked", "transferred",
                                               "no_action"])
    notes = str(body.get("notes", ""))[:2000]
    acd = get_calls().acd()
    agent_id = current_user().username
    current = acd.agent(agent_id).get("call", "")
    call_sid = str(body.get("call_sid") or current)
    # The caller hung up, or a called-back customer never answered, before the agent pressed
    # finish: the call is over all the same, and its disposition is still worth keeping.
    ended_first = call_sid != current and not acd.call(call_sid).get("agent")
    if not ended_first:
        acd.finish(agent_id, _now())
    if call_sid:
        acd.record("disposition", _now(), agent=agent_id, call=call_sid, disposition=disposition, notes=notes)
    return jsonify(_agent_view(agent_id))


@bp.get("/tickets")
@login_required()
def tickets():
    now = to_naive_utc(current_app.config["CLOCK"]())
    rows = get_session().scalars(select(Ticket).where(policy.readable_tickets(current_user()))
                                 .order_by(Ticket.closure_due).limit(200)).all()
    return jsonify(tickets=[{
        "id": t.id, "number": t.number, "category": t.category.value, "status": t.status.value,
        "owner": t.owner, "waybill": t.waybill, "phone": mask_phone(t.phone),
        "sla": {name: {"due": _local(c.due), "met": c.met_at is not None,
                       "breached": c.breached(now), "remaining_s": int(c.remaining(now).total_seconds())}
                for name, c in clocks(t).items()},
    } for t in rows])


def _ticket_fields(body: dict, required: bool) -> dict:
    """The customer's details from a ticket form, checked; only those given when not required."""
    fields = {}
    for name, limit in (("name", 64), ("phone", 20), ("waybill", 32)):
        if required or name in body:
            fields[name] = _field(body, name, limit=limit)
    if "phone" in fields:
        fields["phone"] = normalise_phone(fields["phone"])
        if not 7 <= len(fields["phone"]) <= 12:
            raise BadRequest("phone must have 7 to 12 digits")
    if "waybill" in fields:
        fields["waybill"] = normalise_waybill(fields["waybill"])
    if required or "demand" in body:
        fields["demand"] = Demand(_field(body, "demand", [d.value for d in Demand]))
    return fields


def _ticket_json(ticket: Ticket) -> dict:
    """A ticket the current user may read, with the actions they may take on it."""
    may_change = policy.may_change_ticket(current_user(), ticket)
    return {
        "id": ticket.id, "number": ticket.number, "category": ticket.category.value, "status": ticket.status.value,
        "owner": ticket.owner, "name": ticket.name, "waybill": ticket.waybill, "phone": mask_phone(ticket.phone),
        "demand": ticket.demand.value, "channel": ticket.channel, "survey_score": ticket.survey_score,
        "may_change": may_change,
        "actions": [trigger for trigger, (sources, _) in TRANSITIONS.items() if may_change and ticket.status in sources],
        "history": [{"at": _local(e.at), "action": e.action, "detail": e.detail}
                    for e in ticket.history],
    }


def _readable_ticket(ticket_id: int) -> Ticket | None:
    return get_session().scalar(select(Ticket).where(Ticket.id == ticket_id, policy.readable_tickets(current_user())))


def _ticket(ticket_id: int, change: bool = False) -> Ticket:
    """The ticket, if the current user may read it (404 otherwise, as for none) and, with
    `change`, change it (403)."""
    ticket = _readable_ticket(ticket_id)
    if ticket is None:
        abort(404, description=f"no ticket {ticket_id}")
    if change and not policy.may_change_ticket(current_user(), ticket):
        abort(403, description=f"ticket {ticket.number} is {ticket.owner}'s")
    return ticket


@bp.post("/tickets")
@login_required()
def create_ticket():
    """An agent opens a ticket (a complaint taken on the phone); they own it (首接负责制).
    A ticket already open for the waybill gets this complaint added instead."""
    body = _body()
    category = ComplaintCategory(_field(body, "category", [c.value for c in ComplaintCategory]))
    fields = _ticket_fields(body, required=True)
    now, actor = to_naive_utc(current_app.config["CLOCK"]()), current_user().username
    db = get_session()
    ticket, created = file_complaint(db, category=category, channel="console", now=now,
                                     sla=current_app.extensions["sla_policy"], **fields)
    if created:
        apply(db, ticket, "assign", now=now, actor=actor)
    # The agent's note belongs to the complaint they took, also when it joins an open ticket they
    # may not otherwise change; they then learn only its number.
    notes = str(body.get("notes", ""))[:500]
    if notes:
        edit_ticket(db, ticket, {}, now=now, actor=actor, notes=notes)
    if not created and _readable_ticket(ticket.id) is None:
        return jsonify(created=False, id=ticket.id, number=ticket.number)
    return jsonify(created=created, **_ticket_json(ticket)), 201 if created else 200


@bp.get("/tickets/<int:ticket_id>")
@login_required()
def ticket_detail(ticket_id: int):
    return jsonify(_ticket_json(_ticket(ticket_id)))


@bp.post("/tickets/<int:ticket_id>")
@login_required()
def update_ticket(ticket_id: int):
    """Correct name, phone or demand, and/or add a note."""
    body = _body()
    unknown = set(body) - {"name", "phone", "demand", "notes"}
    if unknown:
        raise BadRequest(f"cannot change {', '.join(sorted(unknown))}")
    ticket = _ticket(ticket_id, change=True)
    edit_ticket(get_session(), ticket, _ticket_fields(body, required=False),
                now=to_naive_utc(current_app.config["CLOCK"]()), actor=current_user().username,
                notes=str(body.get("notes", ""))[:500])
    return jsonify(_ticket_json(ticket))


@bp.post("/tickets/<int:ticket_id>/<trigger>")
@login_required()
def ticket_action(ticket_id: int, trigger: str):
    body = _body()
    ticket = _ticket(ticket_id, change=True)
    apply(get_session(), ticket, trigger, now=to_naive_utc(current_app.config["CLOCK"]()),
          actor=current_user().username, detail=str(body.get("notes", ""))[:500])
    return jsonify(id=ticket.id, status=ticket.status.value, owner=ticket.owner)


@bp.post("/callbacks")
@login_required()
def schedule_callback():
    body = _body()
    phone = normalise_phone(_field(body, "phone"))
    if not 7 <= len(phone) <= 12:
        raise BadRequest("phone must have 7 to 12 digits")
    slot = _field(body, "slot", SLOTS)
    try:
        callback, moved = book_callback(get_session(), phone=phone, slot=slot, now=current_app.config["CLOCK"](),
                                        hours=current_app.extensions["calling_hours"],
                                        reason=f"agent:{current_user().username}",
                                        window=timedelta(days=current_app.config["CALLBACK_WINDOW_DAYS"]),
                                        destinations=current_app.extensions["callback_destinations"])
    except CallbackRefused as error:  # a number the hotline will not call, or called back enough today
        raise BadRequest(f"no callback booked: {mask_text(str(error))}") from None
    schedule_callback_job(callback)
    return jsonify(id=callback.id, due_at=callback.due_at.isoformat(timespec="minutes") + "Z", moved=moved)


def _wallboard() -> dict:
    from reports.live import wallboard

    calls = get_calls()
    return wallboard(get_session(), calls.acd(), calls.store, calls.now(),
                     current_app.extensions["calling_hours"].zone)


@bp.get("/wallboard")
@login_required(policy.may_see_figures)
def wallboard_now():
    return _polled(_wallboard())


@bp.get("/reports/<kind>")
@login_required(policy.may_see_figures)
def download_report(kind: str):
    """The same reports as `flask report`, for supervisors: ?date=YYYY-MM-DD or ?week=YYYY-Www, &format=."""
    from reports import figures
    from reports.export import FORMATS, MIMETYPES, export

    if kind not in ("daily", "weekly"):
        abort(404, description="reports are daily or weekly")
    fmt = _arg("format", choices=FORMATS, default="html")
    language = _arg("language", choices=("", *LANGUAGES)) or None
    carrier = _arg("carrier", choices=("", *sorted(CARRIERS))) or None
    zone = current_app.extensions["calling_hours"].zone
    when = (_arg("date", pattern=r"\d{4}-\d{2}-\d{2}", example="2026-11-24") if kind == "daily"
            else _arg("week", pattern=r"\d{4}-W\d{2}", example="2026-W48"))
    if int(when[:4]) not in REPORT_YEARS:
        raise BadRequest(f"reports cover the years {REPORT_YEARS.start} to {REPORT_YEARS.stop - 1}")
    try:
        period = figures.day(date.fromisoformat(when), zone) if kind == "daily" else figures.week(when, zone)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    body = export(figures.build(get_session(), period, language=language, carrier=carrier), fmt)
    return Response(body, mimetype=MIMETYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="report-{period.label}.{fmt}"'})
