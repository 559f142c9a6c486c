// The national overview: totals, sites by status, a bar per province and the alert list, all
// recomputed from the live site rows once per animation frame (a pass over 12,000 rows is ~1 ms).

import {
  coalesce,
  connectLive,
  fill,
  formatNumber,
  formatRate,
  isUnderRoster,
  lang,
  statusLabel,
  t,
} from "./live.js";

const STATUSES = ["live", "stale", "offline", "degraded"];
const SEVERITY = { offline: 0, degraded: 1, stale: 2, under: 3 };
const MAX_ALERTS = 100;
const collator = new Intl.Collator(lang);
const $ = (id) => document.getElementById(id);
const provinceRows = new Map(); // province → its <tr>, reused between frames

let sites = new Map();
const draw = coalesce(render);
connectLive((current) => {
  sites = current;
  draw();
});

function render() {
  const totals = { present: 0, expected: 0 };
  const byStatus = Object.fromEntries(STATUSES.map((status) => [status, 0]));
  const provinces = new Map();
  const alerts = [];
  for (const site of sites.values()) {
    // An offline site's last count says nothing about the room now.
    const present = site.status === "offline" ? 0 : (site.count ?? 0);
    totals.present += present;
    totals.expected += site.expected;
    byStatus[site.status] = (byStatus[site.status] ?? 0) + 1;
    const province = provinces.get(site.province) ?? { sites: 0, present: 0, expected: 0 };
    province.sites += 1;
    province.present += present;
    province.expected += site.expected;
    provinces.set(site.province, province);
    const kind = alertKind(site);
    if (kind) alerts.push({ site, kind });
  }
  drawTotals(totals);
  for (const status of STATUSES) $(`sites-${status}`).textContent = formatNumber(byStatus[status]);
  drawProvinces(provinces);
  drawAlerts(alerts);
}

function alertKind(site) {
  if (site.status !== "live") return site.status;
  return isUnderRoster(site) ? "under" : null;
}

const rateOf = ({ present, expected }) => (expected > 0 ? present / expected : null);

function setMeter(fillElement, rate) {
  fillElement.style.width = `${Math.min(100, Math.round((rate ?? 0) * 100))}%`;
  fillElement.classList.toggle("low", rate != null && rate < 0.5);
}

function drawTotals(totals) {
  $("total-present").textContent = formatNumber(totals.present);
  $("total-expected").textContent = fill(t.of_expected, { expected: formatNumber(totals.expected) });
  $("total-rate").textContent = formatRate(rateOf(totals));
  setMeter($("total-bar"), rateOf(totals));
}

function drawProvinces(provinces) {
  const names = [...provinces.keys()].sort(collator.compare);
  const rows = names.map((name) => {
    const row = provinceRows.get(name) ?? newProvinceRow(name);
    provinceRows.set(name, row);
    const figures = provinces.get(name);
    const cells = row.cells;
    cells[1].textContent = formatNumber(figures.sites);
    cells[2].textContent = formatNumber(figures.present);
    cells[3].textContent = formatNumber(figures.expected);
    setMeter(cells[4].querySelector(".fill"), rateOf(figures));
    cells[4].querySelector(".rate").textContent = formatRate(rateOf(figures));
    return row;
  });
  $("provinces").replaceChildren(...rows);
}

function newProvinceRow(name) {
  const row = document.createElement("tr");
  const link = document.createElement("a");
  link.href = `/sites?province=${encodeURIComponent(name)}`;
  link.textContent = name;
  row.insertCell().append(link);
  for (let i = 0; i < 3; i += 1) row.insertCell().className = "num";
  const bar = row.insertCell();
  bar.className = "bar-col";
  bar.innerHTML = '<span class="meter"><span class="fill"></span></span> <span class="rate"></span>';
  return row;
}

function drawAlerts(alerts) {
  alerts.sort(
    (a, b) => SEVERITY[a.kind] - SEVERITY[b.kind] || collator.compare(a.site.code, b.site.code),
  );
  $("alert-count").textContent = formatNumber(alerts.length);
  $("alerts").replaceChildren(...alerts.slice(0, MAX_ALERTS).map(alertItem));
  $("alerts-empty").hidden = alerts.length > 0;
  const more = $("alerts-more");
  more.hidden = alerts.length <= MAX_ALERTS;
  more.firstElementChild.textContent = fill(t.more_alerts, {
    n: formatNumber(alerts.length - MAX_ALERTS),
  });
}

function alertItem({ site, kind }) {
  const item = document.createElement("li");
  item.className = `alert alert-${kind}`;
  const badge = document.createElement("span");
  badge.className = `badge status-${kind}`;
  badge.textContent = kind === "under" ? t.alert_under : statusLabel(kind);
  const link = document.createElement("a");
  link.href = `/sites/${encodeURIComponent(site.code)}`;
  link.textContent = `${site.code} · ${site.name}`;
  const detail = document.createElement("span");
  detail.className = "reason";
  detail.textContent =
    kind === "under" ? `${formatNumber(site.count)} / ${formatNumber(site.expected)}` : site.reason;
  item.append(badge, " ", link, " ", detail);
  return item;
}
