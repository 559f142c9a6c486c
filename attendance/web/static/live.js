// Shared by every page: the strings, diacritic-blind search, number and time formats, one
// redraw per animation frame, and the one WebSocket that keeps every site's row current.

const body = document.body;
export const lang = body.dataset.lang;
export const t = JSON.parse(document.getElementById("strings").textContent);
export const UNDER_ROSTER = 0.5; // a site counting fewer than half its expected people is an alert

const numbers = new Intl.NumberFormat(lang);
const clock = new Intl.DateTimeFormat(lang, {
  timeZone: body.dataset.timezone,
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key]));
}

/** 'Điểm cầu Hà Nội' and 'diem cau ha noi' fold alike, so people may type either. */
export function fold(text) {
  return text.replace(/[đĐ]/g, "d").normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

export const formatNumber = (value) => (value == null ? "–" : numbers.format(value));
export const formatRate = (rate) => (rate == null ? "–" : `${Math.round(rate * 100)}%`);
export const formatTime = (iso) => (iso ? clock.format(new Date(iso)) : "–");
export const statusLabel = (status) => t[`status_${status}`] ?? status;
export const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

export function isUnderRoster(site) {
  return site.expected > 0 && site.count != null && site.count < UNDER_ROSTER * site.expected;
}

/** `draw` runs at most once per animation frame however often this is called. */
export function coalesce(draw) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  };
}

/**
 * The fields of a site, by name: the server's `SiteRow` (attendance/web/live.py). Every message
 * of the live feed carries `columns` (these names) and `rows` (each a site's values in the order
 * of `columns`); a row is read by column name, never by position, and the scripts read only
 * these fields and the DERIVED ones. tests/web/test_live_contract.py checks both lists.
 */
export const SITE_FIELDS = [
  "code",
  "name",
  "province",
  "expected",
  "count",
  "status",
  "reason",
  "at",
];
export const DERIVED = ["rate", "search"]; // computed here from the fields above

function missingFields(columns) {
  return SITE_FIELDS.filter((name) => !columns.includes(name));
}

function toSite(columns, values) {
  const site = {};
  columns.forEach((name, i) => {
    site[name] = values[i];
  });
  site.rate = site.expected > 0 && site.count != null ? site.count / site.expected : null;
  site.search = fold(`${site.code} ${site.name}`);
  return site;
}

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
const RESYNC_AFTER_HIDDEN_MS = 60000;

/**
 * Follow /api/v1/live: `onChange(sites, changes)` gets the Map code → site after every message.
 * A snapshot replaces the map (`changes` null); a delta updates its sites in place and lists
 * them with the names of the fields that changed. Reconnects with backoff; each new connection
 * starts with a fresh snapshot.
 */
export function connectLive(onChange) {
  const sites = new Map();
  const indicator = document.getElementById("live-state");
  let columns = [];
  let delay = MIN_DELAY_MS;
  let socket = null;
  let hiddenSince = null;

  function show(state) {
    indicator.hidden = false;
    indicator.dataset.state = state;
    indicator.textContent = t[`live_${state}`];
  }

  function snapshot(message) {
    columns = message.columns;
    const missing = missingFields(columns);
    if (missing.length) console.error(`live feed: no ${missing.join(", ")} in its columns`);
    sites.clear();
    for (const values of message.rows) {
      const site = toSite(columns, values);
      sites.set(site.code, site);
    }
    onChange(sites, null);
    // Marks the first rendered snapshot (read by `attendance bench web`).
    requestAnimationFrame(() => {
      document.documentElement.dataset.live = "ready";
    });
  }

  function delta(message) {
    columns = message.columns ?? columns;
    const changes = [];
    for (const values of message.rows) {
      const next = toSite(columns, values);
      const site = sites.get(next.code);
      if (!site) {
        sites.set(next.code, next);
        changes.push({ site: next, fields: new Set(Object.keys(next)) });
        continue;
      }
      const fields = new Set(Object.keys(next).filter((key) => site[key] !== next[key]));
      Object.assign(site, next);
      changes.push({ site, fields });
    }
    onChange(sites, changes);
  }

  function open() {
    show("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/api/v1/live`);
    let opened = false;
    socket.onopen = () => {
      opened = true;
      delay = MIN_DELAY_MS;
      show("open");
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "snapshot") snapshot(message);
      else if (message.type === "delta") delta(message);
    };
    socket.onclose = () => {
      show("closed");
      if (!opened) reloadIfSignedOut();
      setTimeout(open, delay * (1 + Math.random() / 2));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    };
  }

  // A tab asleep for long may have missed a dropped connection's last deltas: ask anew.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      hiddenSince = Date.now();
    } else if (hiddenSince && Date.now() - hiddenSince > RESYNC_AFTER_HIDDEN_MS) {
      if (socket?.readyState === WebSocket.OPEN) socket.send("resync");
    }
  });
  open();
}

/** A socket refused at once usually means the login expired: the page's own URL then
 * redirects, and reloading it shows the login form. */
async function reloadIfSignedOut() {
  try {
    const answer = await fetch(location.href, { redirect: "manual" });
    if (answer.type === "opaqueredirect") location.reload();
  } catch {
    // the server is down: the reconnect loop goes on
  }
}
