// The supervisor's wallboard: figures polled from /console/api/wallboard (poll.js).
const $ = (id) => document.getElementById(id);

function cells(row, values) {
  row.replaceChildren(...values.map((v) => Object.assign(document.createElement("td"), {textContent: v})));
  return row;
}

function render(figures) {
  for (const [key, value] of Object.entries(figures)) {
    const tile = $(`tile-${key}`);
    if (tile) tile.textContent = value === null ? "—" : key === "service_level" || key === "ivr_containment"
      ? `${Math.round(value * 100)}%` : value;
  }
  document.querySelector("#lines tbody").replaceChildren(...Object.entries(figures.lines).map(([line, f]) =>
    cells(document.createElement("tr"), [line, f.waiting, f.longest_wait_s])));
  document.querySelector("#agents tbody").replaceChildren(...Object.entries(figures.agents).map(([state, n]) =>
    cells(document.createElement("tr"), [state, n])));
}

function start() {
  $("login").hidden = true;
  $("board").hidden = false;
  const today = new Date().toLocaleDateString("sv-SE", {timeZone: "Asia/Shanghai"});
  $("daily").href = `/console/api/reports/daily?date=${today}&format=html`;
  $("daily-xlsx").href = `/console/api/reports/daily?date=${today}&format=xlsx`;
  poll("/console/api/wallboard", render, 2000);
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/console/api/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: form.get("username"), password: form.get("password")})});
  if (!response.ok) {
    $("error").textContent = (await response.json()).error;
    $("error").hidden = false;
    return;
  }
  start();
});
fetch("/console/api/wallboard").then((response) => { if (response.ok) start(); });
