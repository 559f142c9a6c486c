// One site: its live count and status, the chart growing with each new sample while the session
// runs, and the manual headcount form (present only for people who may record one).

import {
  coalesce,
  connectLive,
  csrfToken,
  fill,
  formatNumber,
  formatTime,
  statusLabel,
  t,
} from "./live.js";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const code = $("live-site").dataset.code;
const chart = $("chart");

let site = null;
let lastAt = $("live-at").getAttribute("datetime") || null;
$("live-at").textContent = formatTime(lastAt);

const draw = coalesce(() => {
  $("live-count").textContent = formatNumber(site.count);
  const badge = $("live-status");
  badge.className = `badge status-${site.status}`;
  badge.textContent = statusLabel(site.status);
  $("live-reason").textContent = site.reason ?? "";
  $("live-at").setAttribute("datetime", site.at ?? "");
  $("live-at").textContent = formatTime(site.at);
});

connectLive((sites) => {
  site = sites.get(code);
  if (!site) return;
  if (site.at && site.at !== lastAt && site.status === "live" && site.count != null) {
    extendChart(Date.parse(site.at), site.count);
  }
  lastAt = site.at;
  draw();
});

/** Add a new count to the server-drawn chart, on the axes it was drawn with. */
function extendChart(at, count) {
  if (!chart || chart.dataset.live !== "1") return;
  const [left, top, right, bottom] = chart.dataset.plot.split(",").map(Number);
  const t0 = Number(chart.dataset.t0);
  const t1 = Number(chart.dataset.t1);
  const yMax = Number(chart.dataset.ymax);
  if (at < t0 || at > t1) return;
  const x = (left + ((at - t0) / (t1 - t0)) * (right - left)).toFixed(1);
  const y = (bottom - (Math.min(count, yMax) / yMax) * (bottom - top)).toFixed(1);
  const line = lastOf("polyline", { class: "count", points: "" });
  line.setAttribute("points", `${line.getAttribute("points")} ${x},${y}`.trim());
  const end = lastOf("circle", { class: "end", r: "3" });
  end.setAttribute("cx", x);
  end.setAttribute("cy", y);
}

function lastOf(tag, attributes) {
  const found = chart.querySelectorAll(tag);
  if (found.length) return found[found.length - 1];
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  chart.append(element);
  return element;
}

const form = $("headcount");
form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const output = $("headcount-message");
  const button = form.querySelector("button");
  const data = new FormData(form);
  const body = { count: Number(data.get("count")) };
  // datetime-local is the reader's own clock; sent as UTC, it means the same moment anywhere.
  if (data.get("at")) body.at = new Date(data.get("at")).toISOString();
  if (data.get("note")) body.note = data.get("note");
  output.className = "";
  output.textContent = t.headcount_sending;
  button.disabled = true;
  try {
    const answer = await fetch(`/api/v1/sites/${encodeURIComponent(code)}/headcounts`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body),
    });
    const reply = await answer.json().catch(() => ({}));
    if (answer.ok) {
      output.className = "ok";
      output.textContent = reply.message;
      form.reset();
    } else {
      output.className = "error";
      output.textContent = fill(t.headcount_failed, {
        message: reply.error?.message ?? answer.statusText,
      });
    }
  } catch (error) {
    output.className = "error";
    output.textContent = fill(t.headcount_failed, { message: error.message });
  } finally {
    button.disabled = false;
  }
});
