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

from callqueue.acd import OFFER_TIMEOUT_S, AcdError, AgentState, Offer
from callqueue.callbacks import SLOTS, book_callback
from callqueue.destinations import CallbackRefused
from callqueue.jobs import agent_reserved_dialled, schedule_callback_job
from callqueue.routing import callback_leg_key, connect, kept_place_key, scheduled_callback_attempt
from calls import get_calls
from clock import to_naive_utc
from config import LANGUAGES
from console import policy
from console.auth import LoginLocked, WrongLogin, current_user, log_in, log_out, login_required
from console.models import User, client_identity
from console.phone import TOKEN_TTL_S, access_token, connected_agent, hand_over, twilio_phone
from console.security import same_origin_required
from console.words import MESSAGES, NOT_READY_REASONS, REPORT_WORDS, WORDS, line_name, message, request_language
from database import get_session
from ivr.telephony import get_telephony
from logs import mask_text
from masking import mask_phone
from redis_conn import get_redis
from tickets import (
    TRANSITIONS,
    ComplaintCategory,
    Demand,
    TicketStatus,
    TransitionError,
    apply,
    clocks,
    edit_ticket,
    file_complaint,
)
from tickets.models import Ticket
from tracking.carriers import CARRIERS, normalise_waybill
from tracking.service import find_parcel, is_phone_number, normalise_phone

log = logging.getLogger(__name__)
bp = Blueprint("console_api", __name__, url_prefix="/console/api")
bp.before_request(same_origin_required)
# Years a report may cover: any the hotline can have records for (a period in year 1 or 9999 has no
# UTC bounds).
REPORT_YEARS = range(2000, 2100)
REPORT_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"


class BadRequest(ValueError):
    """A request the API refuses, by message code (console.words) and the message's parameters."""

    def __init__(self, code: str, **params):
        super().__init__(message(code, "en", **params))
        self.code, self.params = code, params


def error_body(code: str, **params) -> dict:
    """{error (English), code, message (the session's language)}, as every refusal is answered."""
    return {"error": message(code, "en", **params), "code": code,
            "message": message(code, request_language(), **params)}


def error_response(code: str, status: int, **params):
    return jsonify(error_body(code, **params)), status


def _body() -> dict:
    if request.method == "POST":
        if not request.is_json:
            abort(415, description="send JSON (Content-Type: application/json)")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest("body_not_object")
        return body
    return {}


def _field(body: dict, name: str, choices=None, limit: int | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("field_required", field=name)
    if choices is not None and value not in choices:
        raise BadRequest("field_choice", field=name, choices=", ".join(choices))
    if limit is not None and len(value.strip()) > limit:
        raise BadRequest("field_too_long", field=name, limit=limit)
    return value.strip()


def _arg(name: str, *, choices=None, default: str = "", pattern: str = "", example: str = "") -> str:
    """A query parameter: one of `choices`, or whole-matching `pattern` (an `example` in the error)."""
    value = request.args.get(name, default)
    if choices is not None and value not in choices:
        raise BadRequest("field_choice", field=name, choices=", ".join(c or "(empty)" for c in choices))
    if pattern and not re.fullmatch(pattern, value, re.ASCII):
        raise BadRequest("field_format", field=name, example=example)
    return value


@bp.errorhandler(BadRequest)
def bad_request(error):
    return error_response(error.code, 400, **error.params)


@bp.errorhandler(AcdError)
def acd_refused(error):
    return error_response("acd_refused", 409, detail=str(error))


@bp.errorhandler(TransitionError)
def ticket_transition(error):
    return error_response("ticket_transition", 409, detail=str(error))


# The codes of the HTTP refusals raised without words of our own (abort(401) by login_required, ...).
HTTP_CODES = {401: "not_logged_in", 403: "supervisor_only"}
# Refusals raised elsewhere (console.security) in their English words: found by those words.
CODES_BY_WORDS = {text: code for code, text in MESSAGES["en"].items() if "{" not in text}


@bp.errorhandler(HTTPException)
def http_error(error):
    if hasattr(error, "message_code"):
        return error_response(error.message_code, error.code, **error.params)
    if error.description == type(error).description and error.code in HTTP_CODES:
        return error_response(HTTP_CODES[error.code], error.code)
    if error.description in CODES_BY_WORDS:
        return error_response(CODES_BY_WORDS[error.description], error.code)
    return error_response("http_error", error.code, detail=error.description)


def refuse(status: int, code: str, **params):
    """Abort with a message code: the handler above words it."""
    try:
        abort(status, description=message(code, "en", **params))
    except HTTPException as error:
        error.message_code, error.params = code, params
        raise


@bp.errorhandler(SQLAlchemyError)
@bp.errorhandler(RedisError)
def storage_out_of_reach(error):
    # An outage is the server's, not the agent's: say so and when to try again, never a 500.
    log.warning("console API %s refused during an outage: %s", request.path, type(error).__name__)
    return jsonify(**error_body("storage_out_of_reach"), retry_after_s=5), 503, {"Retry-After": "5"}


@bp.errorhandler(WrongLogin)
def wrong_login(_error):
    return error_response("wrong_login", 401)


@bp.errorhandler(LoginLocked)
def login_locked(error):
    body = error_body("login_locked", minutes=-(-error.retry_after_s // 60))
    return jsonify(**body, retry_after_s=error.retry_after_s), 429, {"Retry-After": str(error.retry_after_s)}


def _local(moment) -> str:
    """A stored (UTC) time as agents read it: the hotline's local time, to the minute."""
    return current_app.extensions["calling_hours"].stamp(moment)


def display_name(username: str | None) -> str:
    """A user as colleagues know them (王小明, not wang); the username when they have no name."""
    if not username:
        return ""
    names = g.setdefault("display_names", {})
    if username not in names:
        user = get_session().scalar(select(User).where(User.username == username))
        names[username] = (user.display_name if user else "") or username
    return names[username]


def _now() -> float:
    return current_app.config["CLOCK"]().timestamp()


@bp.post("/login")
def login():
    body = _body()
    user = log_in(_field(body, "username", limit=64), _field(body, "password", limit=256))
    acd = get_calls().acd()
    try:  # a fresh login starts 离线, not 未应答 from an offer missed before it
        if acd.agent(user.username)["state"] == AgentState.NOT_RESPONDING.value:
            acd.set_state(user.username, AgentState.OFFLINE, _now())
    except AcdError:
        pass  # a supervisor who takes no calls
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


@bp.get("/me/today")
@login_required()
def my_day():
    """The agent's own figures today (calls, average handling, tickets opened)."""
    from reports.live import agent_today

    calls = get_calls()
    return jsonify(agent_today(get_session(), calls.acd(), current_user().username, calls.now(),
                               current_app.extensions["calling_hours"].zone))


def _polled(view: dict) -> Response:
    """A view the pages poll every second or two instead of holding a stream open: each poll is
    a short request (no web thread or database session kept between them), answered 304 when
    the view has not changed since the ETag the page sent. A poll is not the agent's activity:
    it does not hold off the session's idle timeout."""
    g.passive_request = True
    response = jsonify(view)
    response.add_etag()
    response.headers["Cache-Control"] = "no-cache"
    # The hotline's clock, outside the ETag: the page counts deadlines in the view down against it.
    response.headers["X-Server-Time"] = f"{_now():.3f}"
    return response.make_conditional(request)


def _agent_view(agent_id: str) -> dict:
    agent = get_calls().acd().agent(agent_id)
    call_sid = agent.get("call") or ""
    view = {"user": _user_json(current_user()), "state": agent["state"], "offer": None,
            "reason": agent.get("reason", "") if agent["state"] == AgentState.BREAK.value else "",
            # Deadlines (the hotline's epoch seconds) the page counts down: the offer moves on, wrap-up ends.
            "offer_deadline": float(agent["offered_at"]) + OFFER_TIMEOUT_S
            if agent["state"] == AgentState.OFFERED.value and agent.get("offered_at") else None,
            "wrap_until": float(agent["wrap_until"])
            if agent["state"] == AgentState.WRAP_UP.value and agent.get("wrap_until") else None}
    if call_sid:
        view["offer"] = {"call_sid": call_sid, **screen_pop(call_sid)}
        # The hotline forgets a call's session when the caller hangs up; the agent stays on the
        # call until they end it (a kept-place callback's session goes by another call's id).
        view["caller_gone"] = (agent["state"] == AgentState.ON_CALL.value and not view["offer"]["kept_place"]
                               and get_calls().load(call_sid) is None)
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
        "line_name": line_name(acd_call["skill"], request_language()),
        "transferred_from": display_name(acd_call.get("transferred_from")),
        "verified": verified,
        "category": variables.get("category", ""),
        "waybill": parcel.waybill if parcel else None,
        "parcel": None if parcel is None else {
            "status": parcel.status.value, "carrier": parcel.carrier,
            "route": f"{parcel.origin} → {parcel.destination}",
            "scans": [{"at": _local(s.at), "location": s.location, "status": s.status.value}
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
    # Why not ready: a break's reason, from the catalogue (休息 when none is given).
    reason = _field(body, "reason", NOT_READY_REASONS) if state is AgentState.BREAK and "reason" in body else \
        NOT_READY_REASONS[0] if state is AgentState.BREAK else ""
    agent_id = current_user().username
    _end_a_call_that_ended_without_finish(agent_id)
    get_calls().acd().set_state(agent_id, state, _now(), reason)
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


@bp.get("/phone/token")
@login_required()
def phone_token():
    """The agent's access token for the Twilio Voice JS SDK (503 when the hotline has none: the
    console then talks over the app's own bridge)."""
    if not twilio_phone(current_app.config):
        return error_response("browser_phone_not_configured", 503)
    identity = client_identity(current_user().username)
    return (jsonify(token=access_token(current_app.config, identity), identity=identity, ttl_s=TOKEN_TTL_S),
            {"Cache-Control": "no-store"})


@bp.post("/accept")
@login_required()
def accept():
    body = _body()
    call_sid = _field(body, "call_sid")
    acd = get_calls().acd()
    agent_id = current_user().username
    acd.accept(agent_id, call_sid, _now())
    acd_call = acd.call(call_sid)
    base = _public_base()
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
        return error_response("call_not_connected", 503, detail=mask_text(str(error)))
    if offer.callback:
        links = get_redis().pipeline()
        links.set(kept_place_key(ringing), call_sid, ex=3600)
        links.set(callback_leg_key(call_sid), ringing, ex=3600)
        links.execute()
        if scheduled:
            agent_reserved_dialled(get_session(), call_sid, ringing, to_naive_utc(current_app.config["CLOCK"]()))
    return jsonify(connected=call_sid, ringing=ringing, kept_place=offer.callback)


def _call_on_your_line(body: dict) -> str:
    """The body's call_sid, if the ACD connected (or offered) it to the current agent; 404 as for no
    call otherwise."""
    call_sid = _field(body, "call_sid", limit=64)
    if not policy.may_handle_call(current_user(), connected_agent(call_sid)):
        refuse(404, "call_not_yours", call=call_sid)
    return call_sid


def _customer_leg(call_sid: str) -> str:
    """The carrier's call the customer is on: for a callback, the call the hotline dialled to
    them (linked at accept: the entry is the kept place or the booking); else the ACD's entry."""
    dialled = get_redis().get(callback_leg_key(call_sid))
    return dialled.decode() if dialled else call_sid


def _public_base() -> str:
    return current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")


def _redirect_caller(call_sid: str, url: str) -> str | None:
    """Send the caller's leg to new TwiML (a Twilio REST update; the local carrier's redirect).
    The carrier's refusal, masked, if it refused (the caller has gone: their status callback ends
    the call)."""
    try:
        get_telephony().redirect(call_sid, url)
    except Exception as error:  # whatever the carrier's client raises
        log.warning("call %s could not be redirected: %s", call_sid, mask_text(str(error)))
        return mask_text(str(error))
    return None


@bp.get("/transfer-targets")
@login_required()
def transfer_targets():
    """Where the agent may transfer their caller: colleagues available now, and the lines agents serve."""
    acd, me = get_calls().acd(), current_user().username
    colleagues = [a for a in acd.agent_ids() if a != me and acd.agent(a)["state"] == AgentState.AVAILABLE.value]
    return jsonify(agents=[{"username": a, "name": display_name(a)} for a in colleagues],
                   lines=[{"line": line, "name": line_name(line, request_language())} for line in acd.lines()])


@bp.post("/transfer")
@login_required()
def transfer():
    """The agent hands their caller on, to an available colleague (`agent`) or a line (`line`):
    the caller goes back into the ACD ahead of later callers, with their screen pop, and the agent
    into wrap-up (the call's disposition: 已转接). The caller's leg waits in the app's line (a
    Twilio call is redirected there; a bridged caller's socket stays open, on hold music) until the
    next agent accepts. A callback's customer waits there on the call dialled to them, from then
    on an ordinary caller under that call's SID."""
    body = _body()
    call_sid = _call_on_your_line(body)
    to_agent = _field(body, "agent", limit=64) if "agent" in body else ""
    line = _field(body, "line", limit=64) if "line" in body else ""
    if bool(to_agent) == bool(line):
        raise BadRequest("transfer_target")
    calls, me = get_calls(), current_user().username
    acd = calls.acd()
    if line and line not in acd.lines():
        raise BadRequest("line_unserved", line=line)
    if to_agent:
        try:
            available = to_agent != me and acd.agent(to_agent)["state"] == AgentState.AVAILABLE.value
        except AcdError:  # not an agent at all
            available = False
        if not available:
            refuse(409, "agent_unavailable", name=display_name(to_agent))
    leg = _customer_leg(call_sid)
    acd.transfer(me, call_sid, _now(), line=line, to_agent=to_agent, leg=leg)
    acd.record("disposition", _now(), agent=me, call=call_sid, disposition="transferred",
               notes=str(body.get("notes", ""))[:2000], to=to_agent or line)
    calls.back_in_line(leg)
    hand_over(call_sid)
    _redirect_caller(leg, f"{_public_base()}/voice/transferred")  # a refusal: the caller has gone
    return jsonify(_agent_view(me))


@bp.post("/phone/hold")
@login_required()
def phone_hold():
    """The Twilio browser phone's hold: the caller's leg goes to the hold music (`on`: true) or
    back to the agent's browser (false), by REST redirects. (The local bridge holds in its socket.)"""
    body = _body()
    call_sid = _call_on_your_line(body)
    on = body.get("on")
    if not isinstance(on, bool):
        raise BadRequest("field_choice", field="on", choices="true, false")
    me = current_user().username
    if get_calls().acd().agent(me)["state"] != AgentState.ON_CALL.value:
        raise AcdError(f"agent {me} is not on call {call_sid} yet")
    refused = _redirect_caller(_customer_leg(call_sid),
                               f"{_public_base()}/voice/hold" if on else f"{_public_base()}/voice/connect/{me}")
    if refused is not None:
        return error_response("call_not_connected", 503, detail=refused)
    return jsonify(call_sid=call_sid, on_hold=on)


@bp.post("/finish")
@login_required()
def finish():
    body = _body()
    disposition = _field(body, "disposition", ["resolved", "ticket_opened", "callback_booked", "transferred",
                                               "no_action"])
    notes = str(body.get("notes", ""))[:2000]
    # 已建工单 names the ticket the call opened or added to: one this agent may read.
    ticket = _field(body, "ticket", limit=32) if disposition == "ticket_opened" and "ticket" in body else ""
    if ticket and get_session().scalar(select(Ticket.id).where(Ticket.number == ticket,
                                                               policy.readable_tickets(current_user()))) is None:
        refuse(404, "ticket_not_found", id=ticket)
    acd = get_calls().acd()
    agent_id = current_user().username
    current = acd.agent(agent_id).get("call", "")
    call_sid = str(body.get("call_sid") or current)
    # The call ended before the agent pressed finish (a hang-up on the phone put them into
    # wrap-up; a called-back customer never answered): its disposition is still worth keeping.
    if call_sid == current:
        acd.finish(agent_id, _now())
    elif (acd.call(call_sid).get("agent") or agent_id) != agent_id:
        raise AcdError(f"call {call_sid} was another agent's")
    if call_sid:
        acd.record("disposition", _now(), agent=agent_id, call=call_sid, disposition=disposition, notes=notes,
                   **({"ticket": ticket} if ticket else {}))
    return jsonify(_agent_view(agent_id))


@bp.get("/tickets")
@login_required()
def tickets():
    """The tickets the user may read: ?mine=1 their own, ?status= one status (or "open"), ?q= a
    number, waybill or name (part of one)."""
    query = select(Ticket).where(policy.readable_tickets(current_user()))
    if _arg("mine", choices=("", "0", "1")) == "1":
        query = query.where(Ticket.owner == current_user().username)
    status = _arg("status", choices=("", "open", *(s.value for s in TicketStatus)))
    if status == "open":
        query = query.where(Ticket.status != TicketStatus.CLOSED)
    elif status:
        query = query.where(Ticket.status == TicketStatus(status))
    search = request.args.get("q", "").strip()[:64]
    if search:
        like = f"%{search}%"
        query = query.where(Ticket.number.ilike(like) | Ticket.waybill.ilike(like) | Ticket.name.ilike(like))
    rows = get_session().scalars(query.order_by(Ticket.closure_due).limit(200)).all()
    return jsonify(tickets=[{
        "id": t.id, "number": t.number, "category": t.category.value, "status": t.status.value,
        "owner": t.owner, "owner_name": display_name(t.owner), "name": t.name, "waybill": t.waybill,
        "phone": mask_phone(t.phone), "sla": _sla(t),
    } for t in rows])


def _sla(ticket: Ticket) -> dict:
    """Each SLA clock: its due time (local), met or breached, and the seconds left, which the page
    counts down."""
    now = to_naive_utc(current_app.config["CLOCK"]())
    return {name: {"due": _local(c.due), "met": c.met_at is not None,
                   "breached": c.breached(now), "remaining_s": int(c.remaining(now).total_seconds())}
            for name, c in clocks(ticket).items()}


def _history_entry(event, words: dict) -> dict:
    """A history line in words: the channel a ticket came by, the colleague who acted by name."""
    detail = event.detail
    if event.action == "opened" and detail.startswith("via "):
        channel = detail.removeprefix("via ")
        detail = words["channels"].get(channel, channel)
    elif event.action == "repeat_complaint" and detail.count("; ") == 2:
        # "damaged; demand compensation; via console [CallSid]" (tickets.service.file_complaint)
        category, demand, via = detail.split("; ")
        channel = via.removeprefix("via ").split(" ")[0]
        demand = demand.removeprefix("demand ")
        detail = " · ".join(words.get(code, code) for code in (category, demand)) + \
            f" · {words['channels'].get(channel, channel)}"
    else:
        actor, separator, rest = detail.partition(": ")
        if separator or (detail and " " not in detail):
            detail = f"{display_name(actor)}{separator}{rest}"
    return {"at": _local(event.at), "action": event.action, "detail": detail}


def _ticket_fields(body: dict, required: bool) -> dict:
    """The customer's details from a ticket form, checked; only those given when not required."""
    fields = {}
    for name, limit in (("name", 64), ("phone", 20), ("waybill", 32)):
        if required or name in body:
            fields[name] = _field(body, name, limit=limit)
    if "phone" in fields:
        fields["phone"] = normalise_phone(fields["phone"])
        if not is_phone_number(fields["phone"]):
            raise BadRequest("phone_digits")
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
        "owner": ticket.owner, "owner_name": display_name(ticket.owner), "name": ticket.name,
        "waybill": ticket.waybill, "phone": mask_phone(ticket.phone), "created_at": _local(ticket.created_at),
        # The caller failed the identity check (tickets.service): the waybill is theirs to claim only.
        "verified": bool(ticket.waybill) and not any(e.action == "unverified" for e in ticket.history),
        "sla": _sla(ticket),
        "demand": ticket.demand.value, "channel": ticket.channel, "survey_score": ticket.survey_score,
        "may_change": may_change,
        "actions": [trigger for trigger, (sources, _) in TRANSITIONS.items() if may_change and ticket.status in sources],
        "history": [_history_entry(e, WORDS[request_language()]) for e in ticket.history],
    }


def _readable_ticket(ticket_id: int) -> Ticket | None:
    return get_session().scalar(select(Ticket).where(Ticket.id == ticket_id, policy.readable_tickets(current_user())))


def _ticket(ticket_id: int, change: bool = False) -> Ticket:
    """The ticket, if the current user may read it (404 otherwise, as for none) and, with
    `change`, change it (403)."""
    ticket = _readable_ticket(ticket_id)
    if ticket is None:
        refuse(404, "ticket_not_found", id=ticket_id)
    if change and not policy.may_change_ticket(current_user(), ticket):
        refuse(403, "ticket_not_yours", number=ticket.number, owner=display_name(ticket.owner))
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
        raise BadRequest("cannot_change", fields=", ".join(sorted(unknown)))
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
    if not is_phone_number(phone):
        raise BadRequest("phone_digits")
    slot = _field(body, "slot", SLOTS)
    try:
        callback, moved = book_callback(get_session(), phone=phone, slot=slot, now=current_app.config["CLOCK"](),
                                        hours=current_app.extensions["calling_hours"],
                                        reason=f"agent:{current_user().username}",
                                        window=timedelta(days=current_app.config["CALLBACK_WINDOW_DAYS"]),
                                        destinations=current_app.extensions["callback_destinations"])
    except CallbackRefused as error:  # a number the hotline will not call, or called back enough today
        raise BadRequest("callback_refused", detail=mask_text(str(error))) from None
    schedule_callback_job(callback)
    return jsonify(id=callback.id, due_at=callback.due_at.isoformat(timespec="minutes") + "Z",
                   due_local=_local(callback.due_at), moved=moved)


def _wallboard() -> dict:
    from reports.live import wallboard

    calls, db = get_calls(), get_session()
    users = {u.username: u for u in db.scalars(select(User)).all()}
    board = wallboard(db, calls.acd(), calls.store, calls.now(), current_app.extensions["calling_hours"].zone,
                      counted={name for name, user in users.items() if not policy.is_supervisor(user)})
    for row in board["agent_rows"]:
        user = users.get(row["id"])
        row["name"] = (user.display_name if user else "") or row["id"]
    # The line names and thresholds the page shows (settings: WALLBOARD_WAIT_*_SECONDS).
    board["line_names"] = {line: line_name(line, request_language()) for line in board["lines"]}
    board["wait_thresholds_s"] = {"warn": current_app.config["WALLBOARD_WAIT_WARN_SECONDS"],
                                  "alert": current_app.config["WALLBOARD_WAIT_ALERT_SECONDS"]}
    board["listen_in"] = not twilio_phone(current_app.config)  # calls on the local bridge only
    board["time_zone"] = current_app.config["HOTLINE_TIMEZONE"]  # the page's clock and report days
    return board


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
        refuse(404, "report_kind")
    fmt = _arg("format", choices=FORMATS, default="html")
    language = _arg("language", choices=("", *LANGUAGES)) or None
    carrier = _arg("carrier", choices=("", *sorted(CARRIERS))) or None
    zone = current_app.extensions["calling_hours"].zone
    when = (_arg("date", pattern=r"\d{4}-\d{2}-\d{2}", example="2026-11-24") if kind == "daily"
            else _arg("week", pattern=r"\d{4}-W\d{2}", example="2026-W48"))
    if int(when[:4]) not in REPORT_YEARS:
        raise BadRequest("report_years", first=REPORT_YEARS.start, last=REPORT_YEARS.stop - 1)
    try:
        period = figures.day(date.fromisoformat(when), zone) if kind == "daily" else figures.week(when, zone)
    except ValueError as error:
        raise BadRequest("report_period", detail=str(error)) from None
    report = figures.build(get_session(), period, language=language, carrier=carrier,
                           now=current_app.config["CLOCK"]())
    body = export(report, fmt, REPORT_WORDS[request_language()])
    # The page's own <style> (it is also a file on its own, from `flask report`); it has no script.
    policy_header = {"Content-Security-Policy": REPORT_CONTENT_SECURITY_POLICY} if fmt == "html" else {}
    return Response(body, mimetype=MIMETYPES[fmt], headers={**policy_header,
        # HTML opens in the browser; the files download.
        "Content-Disposition": f'{"inline" if fmt == "html" else "attachment"}; filename="report-{period.label}.{fmt}"'})
