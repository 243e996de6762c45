// The agent console: talks to /console/api, stays live by polling its view (poll.js).
const $ = (id) => document.getElementById(id);
const W = JSON.parse($("words").textContent);  // the page's words, as data (no inline script)
const LANGUAGE = document.documentElement.lang;
const TITLE = document.title;
let clockOffsetS = 0;  // the hotline's clock minus this browser's: deadlines are counted on the hotline's

function noteServerTime(response) {
  const serverTime = Number(response.headers.get("X-Server-Time"));
  if (serverTime) clockOffsetS = serverTime - Date.now() / 1000;
}

function secondsUntil(deadline) { return Math.max(0, Math.round(deadline - Date.now() / 1000 - clockOffsetS)); }

async function api(path, body) {
  const response = await fetch(`/console/api/${path}`, {
    headers: {"Accept-Language": LANGUAGE, ...(body === undefined ? {} : {"Content-Type": "application/json"})},
    ...(body === undefined ? {} : {method: "POST", body: JSON.stringify(body)}),
  });
  const data = await response.json();
  if (!response.ok) {
    if (response.status === 401 && !$("desk").hidden) sessionExpired();
    throw new Error(data.message || data.error || response.statusText);
  }
  noteServerTime(response);
  return data;
}

function showError(error) {
  $("error").textContent = `${W.error}: ${error.message}`;
  $("error").hidden = false;
}

// The login has ended (idle, logged out elsewhere): say so instead of showing a desk gone stale.
function sessionExpired() {
  $("desk").hidden = true;
  $("logout").hidden = true;
  $("expired").hidden = false;
  document.title = TITLE;
}

// A list's items; "—" (unnumbered) when it has none, rather than a heading over nothing.
function list(element, items) {
  element.replaceChildren(...(items.length ? items : ["—"]).map((text) =>
    Object.assign(document.createElement("li"), {textContent: text})));
  element.classList.toggle("empty", !items.length);
}

// "23 小时 5 分钟" / "4 分钟" / "35 秒": a duration as people say it.
function duration(seconds) {
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)} ${W.hours} ${Math.floor(seconds % 3600 / 60)} ${W.minutes}`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} ${W.minutes}`;
  return `${seconds} ${W.seconds}`;
}

let shownState = "";
let finishing = false;  // the agent ended the call: wrap-up that follows is not the caller hanging up
let callerHungUp = false;
let lastOffer = null;  // the call being handled, kept through wrap-up
let deadlines = {offer: null, wrapUp: null};
let disposed = null;   // the call whose disposition is recorded (a hang-up first leaves it to wrap-up)
let callTicket = null; // {call, number}: the ticket opened or added to on the call, which 已建工单 names
const phone = agentPhone({words: W, twilio: $("desk").dataset.phone === "twilio", api,
  onEnded(byAgent) {
    finishing ||= byAgent;
    api("me").then(render).catch(showError);
  },
  onTransferred(view) {  // its disposition (已转接) is recorded: wrap-up asks for none
    finishing = true;
    disposed = lastOffer && lastOffer.call_sid;
    render(view);
  }});

function render(view) {
  $("error").hidden = true;
  $("who").textContent = `${view.user.name} (${W.roles[view.user.role] || view.user.role})`;
  // On a call, then wrap-up without the agent ending it: the caller hung up.
  if (!finishing && ((shownState === "on_call" && view.state === "wrap_up") || view.caller_gone)) callerHungUp = true;
  if (!["on_call", "wrap_up"].includes(view.state)) finishing = callerHungUp = false;
  if (view.caller_gone) phone.callerGone();
  $("hung-up").hidden = !callerHungUp;
  if (view.state === "offered" && shownState !== "offered") announceOffer();
  if (view.state !== shownState) loadMyDay().catch(showError);
  if (view.state !== "offered") {
    document.title = TITLE;
    stopRinging();
  }
  shownState = view.state;
  $("state").textContent = (W[view.state] || view.state) + (view.reason ? ` · ${W.reasons[view.reason] || view.reason}` : "");
  $("state").dataset.state = view.state;
  $("state-note").textContent = W.not_responding_why;
  $("state-note").hidden = view.state !== "not_responding";
  deadlines = {offer: view.offer_deadline, wrapUp: view.wrap_until};
  tick();
  // The screen pop stays through wrap-up: the agent is still writing up that caller.
  if (view.offer) lastOffer = view.offer;
  else if (view.state !== "wrap_up") lastOffer = null;
  const offer = lastOffer;
  $("no-offer").hidden = Boolean(offer);
  $("pop").hidden = !offer;
  if (!offer) return;
  $("pop-caller").textContent = offer.caller || "—";  // a softphone caller has no number
  $("pop-line").textContent = offer.line_name;
  $("pop-transferred").textContent = offer.transferred_from;
  $("pop-transferred-label").hidden = $("pop-transferred").hidden = !offer.transferred_from;
  $("pop-category").textContent = W[offer.category] || offer.category || "—";
  $("pop-waybill").textContent = offer.waybill || (offer.verified ? "—" : W.unverified);
  $("pop-waybill").classList.toggle("warning", !offer.verified);
  $("pop-kept").hidden = !offer.kept_place;
  list($("pop-scans"), (offer.parcel ? offer.parcel.scans : []).map(
    (s) => `${s.at} ${s.location} ${W.parcel_statuses[s.status] || s.status}`));
  list($("pop-ivr"), offer.ivr.map((t) => [t.heard, t.said, t.pressed].filter(Boolean).join(" → ")));
  list($("pop-tickets"), offer.earlier_tickets.map(
    (t) => `${t.number} ${W[t.category] || t.category} ${W.statuses[t.status] || t.status}`));
  // The new-ticket form starts from what the caller already told the IVR.
  const ticketForm = $("new-ticket").elements;
  if (offer.category && !ticketForm.waybill.value) ticketForm.category.value = offer.category;
  if (offer.waybill && !ticketForm.waybill.value) ticketForm.waybill.value = offer.waybill;
  $("accept").hidden = view.state !== "offered";
  // On the call, 结束通话 ends it with its disposition; after a hang-up, wrap-up records it.
  $("finish").hidden = !(view.state === "on_call" || (view.state === "wrap_up" && disposed !== offer.call_sid));
  $("finish-button").textContent = view.state === "on_call" ? W.finish : W.record_disposition;
  showCallTicket();
}

// 已建工单 with the ticket this call opened (or added to), when there is one.
function showCallTicket() {
  const form = $("finish").elements;
  const ticket = callTicket && lastOffer && callTicket.call === lastOffer.call_sid ? callTicket.number : "";
  $("finish-ticket").hidden = !ticket || form.disposition.value !== "ticket_opened";
  $("finish-ticket").querySelector("b").textContent = ticket;
  return ticket;
}

// An offer rings through whatever tab the agent is in: the title, a notification when allowed,
// and a ring until it is answered or moves on.
function announceOffer() {
  document.title = `${W.new_call_title}${TITLE}`;
  if ("Notification" in window && Notification.permission === "granted") new Notification(`${W.offer} · ${TITLE}`);
  stopRinging();
  ring();
  ringing = setInterval(ring, RING_EVERY_MS);
  document.body.dataset.ringing = "true";
}

// A phone's ring: its two tones (440 + 480 Hz), 0.4 s on, 0.2 s off, 0.4 s on. The sound starts
// on the agent's first click on the page (browsers let a page make sound only after one).
const RING_EVERY_MS = 3000;
let ringer = null, ringing = null;
document.addEventListener("click", () => { ringer ??= new AudioContext(); }, {once: true});

function ring() {
  if (!ringer) return;
  const gain = ringer.createGain(), start = ringer.currentTime;
  gain.connect(ringer.destination);
  for (const [at, level] of [[0, 0.2], [0.4, 0], [0.6, 0.2], [1.0, 0]]) gain.gain.setValueAtTime(level, start + at);
  for (const frequency of [440, 480]) {
    const tone = Object.assign(ringer.createOscillator(), {type: "sine"});
    tone.frequency.value = frequency;
    tone.connect(gain);
    tone.start(start);
    tone.stop(start + 1.0);
  }
}

function stopRinging() {
  clearInterval(ringing);
  ringing = null;
  delete document.body.dataset.ringing;
}

// Every second: the offer's and wrap-up's time left, and the tickets' SLA clocks.
function tick() {
  const offerLeft = deadlines.offer === null ? null : secondsUntil(deadlines.offer);
  $("offer-left").hidden = offerLeft === null;
  if (offerLeft !== null) $("offer-left").textContent = `${offerLeft} ${W.offer_expires}`;
  const wrapLeft = deadlines.wrapUp === null ? null : secondsUntil(deadlines.wrapUp);
  $("wrap-left").hidden = wrapLeft === null;
  if (wrapLeft !== null) $("wrap-left").textContent = `${W.wrap_up_left} ${wrapLeft} ${W.seconds}`;
  document.querySelectorAll("[data-sla-deadline]").forEach((cell) => {
    const left = secondsUntil(Number(cell.dataset.slaDeadline));
    cell.textContent = left > 0 ? `${W.left} ${duration(left)}` : W.breached;
    cell.classList.toggle("breached", left <= 0);
  });
}
setInterval(tick, 1000);

// An SLA clock's cell in the ticket list: met, breached or the time left, over its due time.
function slaCell(clock) {
  const cell = document.createElement("td");
  cell.append(slaState(clock), Object.assign(document.createElement("small"), {className: "due",
                                                                                textContent: `${W.due} ${clock.due}`}));
  return cell;
}

// The agent's own figures today, after each change of state (a call answered, a call ended).
async function loadMyDay() {
  const day = await api("me/today");
  $("my-calls").textContent = day.calls;
  $("my-aht").textContent = day.average_handling_s === null ? "—" : duration(day.average_handling_s);
  $("my-tickets").textContent = day.tickets;
}

async function loadTickets() {
  const filters = new URLSearchParams([...new FormData($("ticket-filters"))].filter(([, value]) => value));
  const {tickets} = await api(`tickets?${filters}`);
  const rows = tickets.map((t) => {
    const row = document.createElement("tr");
    [t.number, W[t.category] || t.category, W.statuses[t.status] || t.status, t.owner_name || "—"].forEach((text) =>
      row.append(Object.assign(document.createElement("td"), {textContent: text})));
    row.append(slaCell(t.sla.first_response), slaCell(t.sla.closure));
    row.dataset.ticket = t.id;
    row.tabIndex = 0;  // rows open from the keyboard too
    const open = () => showTicket(t.id).catch(showError);
    row.addEventListener("click", open);
    row.addEventListener("keydown", (event) => { if (event.key === "Enter") open(); });
    return row;
  });
  document.querySelector("#tickets tbody").replaceChildren(...rows);
  tick();
}

let shownTicket = null;

// An SLA clock's state: met, breached, or the time left (counted down by tick()).
function slaState(clock) {
  const state = document.createElement("span");
  if (clock.met) state.textContent = W.met;
  else if (clock.breached) Object.assign(state, {textContent: W.breached, className: "breached"});
  else state.dataset.slaDeadline = Date.now() / 1000 + clockOffsetS + clock.remaining_s;
  return state;
}

// In the detail: the due time, then its state.
function showSla(element, clock) {
  element.replaceChildren(`${W.due} ${clock.due} · `, slaState(clock));
}

function renderTicket(ticket) {
  shownTicket = ticket.id;
  $("ticket").hidden = false;
  $("ticket-number").textContent = ticket.number;
  $("ticket-name").textContent = ticket.name || "—";
  $("ticket-category").textContent = W[ticket.category] || ticket.category;
  $("ticket-demand").textContent = W[ticket.demand] || ticket.demand;
  $("ticket-status").textContent = W.statuses[ticket.status] || ticket.status;
  $("ticket-owner").textContent = ticket.owner_name || "—";
  $("ticket-waybill").textContent = ticket.waybill || "—";
  $("ticket-unverified").hidden = ticket.verified;
  $("ticket-phone").textContent = ticket.phone;
  $("ticket-created").textContent = ticket.created_at;
  showSla($("ticket-first-response"), ticket.sla.first_response);
  showSla($("ticket-closure"), ticket.sla.closure);
  tick();
  list($("ticket-history"), ticket.history.map((h) => `${h.at} ${W.events[h.action] || W[h.action] || h.action} ${h.detail}`));
  $("edit-ticket").hidden = !ticket.may_change;  // another agent's ticket: read only
  $("ticket-actions").replaceChildren(...ticket.actions.map((action) => {
    const button = Object.assign(document.createElement("button"), {textContent: W[action] || action});
    button.dataset.action = action;
    button.addEventListener("click", () => api(`tickets/${ticket.id}/${action}`, {})
      .then(() => showTicket(ticket.id)).then(loadTickets).catch(showError));
    return button;
  }));
  const form = $("edit-ticket").elements;
  form.name.value = ticket.name;
  form.phone.value = "";  // shown masked above; typed only to correct it
  form.demand.value = ticket.demand;
  form.notes.value = "";
}

async function showTicket(id) { renderTicket(await api(`tickets/${id}`)); }

function start(view) {
  $("login").hidden = true;
  $("expired").hidden = true;
  $("desk").hidden = false;
  $("logout").hidden = false;
  render(view);
  loadTickets().catch(showError);
  phone.start().catch((error) => showError({message: `${W.phone_unavailable}: ${error.message}`}));
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
  poll("/console/api/me", (changed, response) => {
    noteServerTime(response);
    render(changed);
    loadTickets().catch(showError);
  }, 1000, sessionExpired);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    await api("login", {username: form.get("username"), password: form.get("password")});
    start(await api("me"));
  } catch (error) { showError(error); }
});
$("logout").addEventListener("click", async () => { await api("logout", {}); location.reload(); });
$("relogin").addEventListener("click", () => location.reload());
document.querySelectorAll("[data-set-state]").forEach((button) => button.addEventListener("click", () => {
  const state = button.dataset.setState;
  api("state", state === "break" ? {state, reason: $("break-reason").value} : {state}).then(render).catch(showError);
}));
$("accept").addEventListener("click", async () => {
  $("accept").disabled = true;  // one click connects the call; a second would only be refused
  try {
    const sid = lastOffer.call_sid;
    await api("accept", {call_sid: sid});
    phone.connect(sid);
    render(await api("me"));
  } catch (error) { showError(error); } finally { $("accept").disabled = false; }
});
$("finish").addEventListener("submit", (event) => {
  event.preventDefault();
  finishing = true;
  const form = new FormData(event.target);
  const callSid = lastOffer.call_sid, ticket = showCallTicket();
  api("finish", {disposition: form.get("disposition"), notes: form.get("notes"), call_sid: callSid,
    ...(ticket && form.get("disposition") === "ticket_opened" ? {ticket} : {})})
    .then((view) => { disposed = callSid; phone.hangUp(); render(view); }).catch(showError);
});
$("finish").elements.disposition.addEventListener("change", showCallTicket);
$("callback").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  api("callbacks", {phone: form.get("phone"), slot: form.get("slot")})
    .then((booked) => {
      $("callback-result").textContent = `${W.booked} #${booked.id} ${booked.due_local}${booked.moved ? W.moved : ""}`;
    })
    .catch(showError);
});
$("new-ticket").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = Object.fromEntries(new FormData(event.target));
  try {
    const ticket = await api("tickets", form);
    $("new-ticket-result").textContent = `${ticket.created ? W.created : W.linked}: ${ticket.number}`;
    event.target.reset();
    if (lastOffer && ticket.history) {  // taken on this call: its disposition is 已建工单, with this ticket
      callTicket = {call: lastOffer.call_sid, number: ticket.number};
      $("finish").elements.disposition.value = "ticket_opened";
      showCallTicket();
    }
    loadMyDay().catch(showError);
    if (ticket.history) renderTicket(ticket);  // joined another group's ticket: only its number
    await loadTickets();
  } catch (error) { showError(error); }
});
$("ticket-filters").addEventListener("input", () => loadTickets().catch(showError));
$("ticket-filters").addEventListener("submit", (event) => event.preventDefault());
$("edit-ticket").addEventListener("submit", (event) => {
  event.preventDefault();
  const changes = Object.fromEntries([...new FormData(event.target)].filter(([, value]) => value));
  api(`tickets/${shownTicket}`, changes).then(renderTicket).then(loadTickets).catch(showError);
});
api("me").then(start).catch(() => {});
