// The agent console: talks to /console/api, stays live by polling its view (poll.js).
const $ = (id) => document.getElementById(id);
const W = JSON.parse($("words").textContent);  // the page's words, as data (no inline script)

async function api(path, body) {
  const response = await fetch(`/console/api/${path}`, body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function showError(error) {
  $("error").textContent = `${W.error}: ${error.message}`;
  $("error").hidden = false;
}

function list(element, items) {
  element.replaceChildren(...items.map((text) => Object.assign(document.createElement("li"), {textContent: text})));
}

let onCall = null;  // the call finish ends, even if the caller hangs up first

function render(view) {
  $("error").hidden = true;
  if (view.offer) onCall = view.offer.call_sid;
  $("who").textContent = `${view.user.name} (${view.user.role})`;
  $("state").textContent = W[view.state] || view.state;
  $("state").dataset.state = view.state;
  const offer = view.offer;
  $("no-offer").hidden = Boolean(offer);
  $("pop").hidden = !offer;
  if (!offer) return;
  $("pop-caller").textContent = offer.caller;
  $("pop-line").textContent = offer.line;
  $("pop-category").textContent = W[offer.category] || offer.category || "-";
  $("pop-waybill").textContent = offer.waybill || "-";
  $("pop-kept").hidden = !offer.kept_place;
  list($("pop-scans"), (offer.parcel ? offer.parcel.scans : []).map(
    (s) => `${s.at.replace("T", " ")} ${s.location} ${W.parcel_statuses[s.status] || s.status}`));
  list($("pop-ivr"), offer.ivr.map((t) => [t.heard, t.said, t.pressed].filter(Boolean).join(" → ")));
  list($("pop-tickets"), offer.earlier_tickets.map(
    (t) => `${t.number} ${W[t.category] || t.category} ${W.statuses[t.status] || t.status}`));
  // The new-ticket form starts from what the caller already told the IVR.
  const ticketForm = $("new-ticket").elements;
  if (offer.category && !ticketForm.waybill.value) ticketForm.category.value = offer.category;
  if (offer.waybill && !ticketForm.waybill.value) ticketForm.waybill.value = offer.waybill;
  $("accept").hidden = view.state !== "offered";
  $("finish").hidden = view.state !== "on_call";
}

async function loadTickets() {
  const {tickets} = await api("tickets");
  const rows = tickets.map((t) => {
    const row = document.createElement("tr");
    const cells = [t.number, W[t.category] || t.category, W.statuses[t.status] || t.status, t.owner || "-"];
    for (const clock of [t.sla.first_response, t.sla.closure]) {
      cells.push(clock.breached ? W.breached : clock.met ? "✓" : `${Math.round(clock.remaining_s / 60)} ${W.minutes}`);
    }
    cells.forEach((text) => {
      const cell = Object.assign(document.createElement("td"), {textContent: text});
      if (text === W.breached) cell.className = "breached";
      row.append(cell);
    });
    row.dataset.ticket = t.id;
    row.addEventListener("click", () => showTicket(t.id).catch(showError));
    return row;
  });
  document.querySelector("#tickets tbody").replaceChildren(...rows);
}

let shownTicket = null;

function renderTicket(ticket) {
  shownTicket = ticket.id;
  $("ticket").hidden = false;
  $("ticket-number").textContent = ticket.number;
  $("ticket-category").textContent = W[ticket.category] || ticket.category;
  $("ticket-status").textContent = W.statuses[ticket.status] || ticket.status;
  $("ticket-owner").textContent = ticket.owner || "-";
  $("ticket-waybill").textContent = ticket.waybill;
  $("ticket-phone").textContent = ticket.phone;
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
  $("desk").hidden = false;
  $("logout").hidden = false;
  render(view);
  loadTickets().catch(showError);
  poll("/console/api/me", (changed) => { render(changed); loadTickets().catch(showError); }, 1000);
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
document.querySelectorAll("[data-set-state]").forEach((button) => button.addEventListener("click", () =>
  api("state", {state: button.dataset.setState}).then(render).catch(showError)));
$("accept").addEventListener("click", async () => {
  try {
    const view = await api("me");
    await api("accept", {call_sid: view.offer.call_sid});
    agentPhone.connect(view.offer.call_sid);
    render(await api("me"));
  } catch (error) { showError(error); }
});
$("finish").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  api("finish", {disposition: form.get("disposition"), notes: form.get("notes"), call_sid: onCall}).then(render).catch(showError);
});
$("callback").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  api("callbacks", {phone: form.get("phone"), slot: form.get("slot")})
    .then((booked) => { $("callback-result").textContent = `#${booked.id} ${booked.due_at}`; })
    .catch(showError);
});
$("new-ticket").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = Object.fromEntries(new FormData(event.target));
  try {
    const ticket = await api("tickets", form);
    $("new-ticket-result").textContent = `${ticket.created ? W.created : W.linked}: ${ticket.number}`;
    event.target.reset();
    if (ticket.history) renderTicket(ticket);  // joined another group's ticket: only its number
    await loadTickets();
  } catch (error) { showError(error); }
});
$("edit-ticket").addEventListener("submit", (event) => {
  event.preventDefault();
  const changes = Object.fromEntries([...new FormData(event.target)].filter(([, value]) => value));
  api(`tickets/${shownTicket}`, changes).then(renderTicket).then(loadTickets).catch(showError);
});
api("me").then(start).catch(() => {});
