// The site table: up to 12,000 live rows, sortable, filtered by province, status and a
// diacritic-blind search. Only the rows in view exist in the DOM (a pool of <tr> reused while
// scrolling, spacer rows standing in for the rest); a delta updates the site objects in place and
// re-sorts only when a field the order or the filters depend on changed.

import {
  coalesce,
  connectLive,
  fill,
  fold,
  formatNumber,
  formatRate,
  formatTime,
  isUnderRoster,
  lang,
  statusLabel,
  t,
} from "./live.js";

const ROW_HEIGHT = 32; // px; app.css gives every body row exactly this height
const OVERSCAN = 8; // rows drawn above and below the visible ones
const ORDER_FIELDS = new Set(["code", "name", "province", "status"]);
const $ = (id) => document.getElementById(id);
const scroller = $("scroller");
const tbody = $("rows");
const inputs = { q: $("q"), province: $("province"), status: $("status") };
const headers = [...document.querySelectorAll("#sites-table th[data-key]")];
const collator = new Intl.Collator(lang, { numeric: true });
const params = new URLSearchParams(location.search);

const state = {
  sites: new Map(),
  view: [], // the sites shown, filtered and sorted
  viewStale: true,
  sort: { key: params.get("sort") ?? "code", dir: params.get("dir") === "desc" ? -1 : 1 },
  wantedProvince: params.get("province") ?? "",
};
inputs.q.value = params.get("q") ?? "";
inputs.status.value = params.get("status") ?? "";

const topSpacer = spacer();
const bottomSpacer = spacer();
const pool = [];

const draw = coalesce(() => {
  if (state.viewStale) {
    rebuildView();
    state.viewStale = false;
  }
  paint();
});

connectLive((sites, changes) => {
  state.sites = sites;
  if (changes === null) {
    fillProvinces();
    state.viewStale = true;
  } else if (changes.some(({ fields }) => reorders(fields))) {
    state.viewStale = true;
  }
  draw();
});

function reorders(fields) {
  if (fields.has(state.sort.key)) return true;
  if (inputs.status.value === "under" && (fields.has("count") || fields.has("expected"))) {
    return true;
  }
  return [...fields].some((field) => ORDER_FIELDS.has(field));
}

function refilter() {
  state.viewStale = true;
  scroller.scrollTop = 0;
  rememberInUrl();
  draw();
}

inputs.q.addEventListener("input", refilter);
inputs.province.addEventListener("change", refilter);
inputs.status.addEventListener("change", refilter);
$("filters").addEventListener("submit", (event) => event.preventDefault());
scroller.addEventListener("scroll", draw, { passive: true });
window.addEventListener("resize", draw);
for (const th of headers) th.querySelector("button").addEventListener("click", () => sortBy(th));
showSort();

function sortBy(th) {
  const key = th.dataset.key;
  state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
  showSort();
  refilter();
}

function showSort() {
  for (const th of headers) {
    const sorted = th.dataset.key === state.sort.key;
    th.setAttribute("aria-sort", sorted ? (state.sort.dir > 0 ? "ascending" : "descending") : "none");
  }
}

function rememberInUrl() {
  const next = new URLSearchParams();
  for (const [name, input] of Object.entries(inputs)) if (input.value) next.set(name, input.value);
  if (state.sort.key !== "code") next.set("sort", state.sort.key);
  if (state.sort.dir < 0) next.set("dir", "desc");
  history.replaceState(null, "", next.size ? `?${next}` : location.pathname);
}

function fillProvinces() {
  const chosen = inputs.province.value || state.wantedProvince;
  const names = [...new Set([...state.sites.values()].map((site) => site.province))];
  names.sort(collator.compare);
  const options = names.map((name) => new Option(name, name));
  inputs.province.replaceChildren(inputs.province.options[0], ...options);
  inputs.province.value = names.includes(chosen) ? chosen : "";
}

function rebuildView() {
  const query = fold(inputs.q.value.trim());
  const province = inputs.province.value;
  const status = inputs.status.value;
  const view = [];
  for (const site of state.sites.values()) {
    if (province && site.province !== province) continue;
    if (status === "under" ? !isUnderRoster(site) : status && site.status !== status) continue;
    if (query && !site.search.includes(query)) continue;
    view.push(site);
  }
  view.sort(compare);
  state.view = view;
}

const byCode = (a, b) => collator.compare(a.code, b.code);

/** By the chosen column, blanks last in either direction, then by code. */
function compare(a, b) {
  const { key, dir } = state.sort;
  const x = a[key];
  const y = b[key];
  if (x == null || y == null) return x == null && y == null ? byCode(a, b) : x == null ? 1 : -1;
  const order = typeof x === "number" ? x - y : collator.compare(x, y);
  return dir * order || byCode(a, b);
}

function paint() {
  const total = state.view.length;
  const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
  const visible = Math.ceil(scroller.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
  const last = Math.min(total, first + visible);
  while (pool.length < last - first) pool.push(newRow());
  const rows = pool.slice(0, last - first);
  rows.forEach((row, i) => fillRow(row, state.view[first + i]));
  topSpacer.style.height = `${first * ROW_HEIGHT}px`;
  bottomSpacer.style.height = `${(total - last) * ROW_HEIGHT}px`;
  tbody.replaceChildren(topSpacer, ...rows, bottomSpacer);
  $("shown").textContent = fill(t.shown, {
    shown: formatNumber(total),
    total: formatNumber(state.sites.size),
  });
}

function spacer() {
  const row = document.createElement("tr");
  row.className = "spacer";
  row.setAttribute("aria-hidden", "true");
  return row;
}

function newRow() {
  const row = document.createElement("tr");
  row.className = "site";
  row.fields = {};
  for (const th of headers) {
    const cell = row.insertCell();
    cell.className = `col-${th.dataset.key}`;
    row.fields[th.dataset.key] = cell;
  }
  row.fields.code.append(document.createElement("a"));
  row.fields.status.append(document.createElement("span"));
  return row;
}

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function fillRow(row, site) {
  row.dataset.code = site.code;
  const { code, name, province, expected, count, rate, status, reason, at } = row.fields;
  const link = code.firstChild;
  link.href = `/sites/${encodeURIComponent(site.code)}`;
  setText(link, site.code);
  setText(name, site.name);
  name.title = site.name;
  setText(province, site.province);
  setText(expected, formatNumber(site.expected));
  setText(count, formatNumber(site.count));
  setText(rate, formatRate(site.rate));
  rate.classList.toggle("low", isUnderRoster(site));
  status.firstChild.className = `badge status-${site.status}`;
  setText(status.firstChild, statusLabel(site.status));
  setText(reason, site.reason ?? "");
  reason.title = site.reason ?? "";
  setText(at, formatTime(site.at));
}
