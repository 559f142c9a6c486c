"""Live counts for dashboards: the state of every site, kept from the event bus, sent to each
connected browser as coalesced deltas over a WebSocket.

A browser first gets a snapshot of the sites it may see, then at most one message per
`live_interval_s` with only the sites that changed. A client that cannot keep up is dropped;
it reconnects and gets a fresh snapshot, so nothing is ever queued without bound.

A socket is a reader like any page: the upgrade is refused from another site's page (Origin),
a socket opened with a login cookie closes when that login ends (signed out here at once, on
another node or by expiry within LOGIN_CHECK_S), and a `resync` is answered with a snapshot at
most once per RESYNC_EVERY_S (one too soon gets an `error` message saying when to ask again).

The messages, the contract with `static/live.js` (tests/web/test_live_contract.py pins it):

    {"type": "snapshot", "columns": COLUMNS, "rows": [[value, ...], ...]}   every visible site
    {"type": "delta",    "columns": COLUMNS, "rows": [[value, ...], ...]}   the changed ones
    {"type": "error", "error": text, "retry_after": seconds}                 a resync too soon

A row is a `SiteRow`'s values in the order of `columns`, which are its field names: names once
per message rather than once per row keep a snapshot of 12,000 sites small, and a reader maps
values to names by `columns` (as `rows_of` and live.js do), never by position.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import operator
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from sqlalchemy import Engine

from attendance.config import Settings
from attendance.live.bus import EventBus
from attendance.live.events import Event, SampleEvent
from attendance.live.status import StatusBoard
from attendance.store.db import transaction
from attendance.store.samples import site_rows
from attendance.users import Principal, open_logins
from attendance.web.auth import LOGIN, require
from attendance.web.keys import BUS, ENGINE, METRICS, SETTINGS
from attendance.web.metrics import Metrics
from attendance.web.origin import same_origin

log = logging.getLogger("attendance.web.live")
SEND_TIMEOUT_S = 5.0
TICK_S = 5.0
LOGIN_CHECK_S = 2.0
RESYNC_EVERY_S = 5.0
routes = web.RouteTableDef()


@dataclass(slots=True)
class SiteRow:
    """One site as the dashboards show it: a row of the live feed, the site page's live figure."""

    code: str
    name: str
    province: str
    expected: int  # people who must attend: the roster less the exempt
    count: int | None  # the latest count; None before the site's first
    status: str  # live, stale, offline or degraded: the status board's judgement
    reason: str  # why, in words
    at: str | None  # ISO 8601 time the latest sample was heard; None before the first

    def values(self) -> tuple[Any, ...]:
        """The values in the order of COLUMNS: a row of the live feed."""
        return _values(self)


COLUMNS = tuple(f.name for f in fields(SiteRow))
_values = operator.attrgetter(*COLUMNS)


def rows_of(message: dict[str, Any]) -> list[SiteRow]:
    """The sites of a snapshot or delta, read by column name (for Python readers: tests, bench)."""
    columns = message["columns"]
    return [SiteRow(**dict(zip(columns, values, strict=True))) for values in message["rows"]]


def _message(kind: str, rows: Iterable[SiteRow]) -> dict[str, Any]:
    return {"type": kind, "columns": COLUMNS, "rows": [row.values() for row in rows]}


@dataclass(eq=False)  # one per connection, kept in a set by identity
class Client:
    ws: web.WebSocketResponse
    principal: Principal
    site_ids: frozenset[int] | None
    login: str | None = None  # the login cookie it was opened with (None: an API token)
    synced_at: float = 0.0  # time.monotonic() of its last snapshot


@dataclass
class LiveState:
    settings: Settings
    rows: dict[str, SiteRow] = field(default_factory=dict)  # by site code
    ids: dict[str, int] = field(default_factory=dict)  # code → site id
    dirty: set[str] = field(default_factory=set)
    clients: set[Client] = field(default_factory=set)
    closing: set[asyncio.Task] = field(default_factory=set)  # sockets being closed
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        sampling = self.settings.sampling
        self.board = StatusBoard(sampling.stale_after_s, sampling.offline_after_s)

    def load(self, engine: Engine) -> None:
        """Every enabled site with its latest sample, as the dashboard opens."""
        with transaction(engine) as session:
            rows = site_rows(session)
        for row in rows:
            at = row["at"].timestamp() if row["at"] else None
            if at is not None:
                self.board.update(row["code"], row["last_status"], at)
            self.ids[row["code"]] = row["id"]
            self.rows[row["code"]] = SiteRow(
                code=row["code"],
                name=row["name"],
                province=row["province"],
                expected=row["expected"],
                count=row["count"],
                status="offline",
                reason="no sample yet",
                at=_iso(at),
            )
        self.board.tick(time.time())  # once for all: stale or offline by the samples' age
        for code, judged in self.board.sites.items():
            self.rows[code].status, self.rows[code].reason = judged.status, judged.reason
        self._count_sites()

    def on_event(self, event: Event) -> None:
        """A sample updates its site's row; other events (and unknown sites) are not ours."""
        if not isinstance(event, SampleEvent) or event.site not in self.rows:
            return
        row = self.rows[event.site]
        self.metrics.sample(event)
        if event.count is not None:
            row.count = event.count
        now = time.time()
        row.at = _iso(now)
        change = self.board.update(event.site, event.status, now)
        if change:
            row.status, row.reason = change
        self.dirty.add(event.site)

    def tick(self) -> None:
        for code, status, reason in self.board.tick(time.time()):
            if code in self.rows:
                self.rows[code].status, self.rows[code].reason = status, reason
                self.dirty.add(code)
        self._count_sites()

    def _count_sites(self) -> None:
        self.metrics.sites.clear()
        self.metrics.sites.update(row.status for row in self.rows.values())

    def snapshot(self, site_ids: frozenset[int] | None) -> dict[str, Any]:
        rows = (row for code, row in self.rows.items() if _visible(self.ids[code], site_ids))
        return _message("snapshot", rows)

    def delta(self, codes: set[str], site_ids: frozenset[int] | None) -> dict[str, Any] | None:
        rows = [self.rows[c] for c in codes if _visible(self.ids[c], site_ids)]
        return _message("delta", rows) if rows else None

    async def broadcast(self) -> None:
        """Send what changed since the last broadcast to every client, concurrently."""
        if not self.dirty:
            return
        codes, self.dirty = self.dirty, set()
        await asyncio.gather(*(self._send(client, codes) for client in list(self.clients)))

    async def _send(self, client: Client, codes: set[str]) -> None:
        message = self.delta(codes, client.site_ids)
        if message is None:
            return
        try:
            await asyncio.wait_for(client.ws.send_str(json.dumps(message)), SEND_TIMEOUT_S)
        except (TimeoutError, ConnectionError, RuntimeError):
            self.clients.discard(client)  # too slow or gone: it reconnects and resyncs
            await client.ws.close()

    def sign_out(self, logins: set[str]) -> None:
        """Close the sockets opened with these logins: their reader has signed out. Nothing more
        is sent to them from here on; the closing handshakes go on in the background, so that a
        peer slow to answer never holds up a sign-out."""
        gone = [client for client in self.clients if client.login in logins]
        for client in gone:
            self.clients.discard(client)
            close = client.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"signed out")
            task = asyncio.create_task(close)
            self.closing.add(task)
            task.add_done_callback(self.closing.discard)
        self.metrics.clients = len(self.clients)

    async def check_logins(self, engine: Engine) -> None:
        """Sign out the sockets whose login ended elsewhere: another node, expiry, a deactivated
        user."""
        logins = {client.login for client in self.clients if client.login is not None}
        if not logins:
            return
        now = datetime.now(UTC)

        def still_open() -> set[str]:
            with transaction(engine) as session:
                return open_logins(session, logins, now)

        self.sign_out(logins - await asyncio.to_thread(still_open))


def _visible(site_id: int, allowed: frozenset[int] | None) -> bool:
    return allowed is None or site_id in allowed


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


LIVE = web.AppKey("live", LiveState)


async def live_context(app: web.Application) -> AsyncIterator[None]:
    """Load the state, follow the bus, broadcast on an interval; all stopped with the app."""
    state = app[LIVE] = LiveState(app[SETTINGS], metrics=app[METRICS])
    await asyncio.to_thread(state.load, app[ENGINE])
    tasks = [
        asyncio.create_task(_follow(state, app[BUS])),
        asyncio.create_task(_broadcast(state, app[SETTINGS].web.live_interval_s)),
        asyncio.create_task(_check_logins(state, app[ENGINE])),
    ]
    yield
    for task in tasks:
        task.cancel()
    for client in list(state.clients):
        await client.ws.close()


async def _follow(state: LiveState, bus: EventBus) -> None:
    async for event in bus.subscribe():
        state.on_event(event)


async def _broadcast(state: LiveState, interval: float) -> None:
    next_tick = time.monotonic() + TICK_S
    while True:
        await asyncio.sleep(interval)
        if time.monotonic() >= next_tick:
            state.tick()
            next_tick += TICK_S
        try:
            await state.broadcast()
        except Exception:  # a broadcast bug must not end live updates for good
            log.exception("live broadcast failed")


async def _check_logins(state: LiveState, engine: Engine) -> None:
    while True:
        await asyncio.sleep(LOGIN_CHECK_S)
        try:
            await state.check_logins(engine)
        except Exception:  # the database away for a moment: check again next time
            log.exception("cannot check the live sockets' logins")


def signed_out(app: web.Application, login: str) -> None:
    """Called by the sign-out handlers: this login's sockets close now."""
    app[LIVE].sign_out({login})


@routes.get("/api/v1/live")
async def live_socket(request: web.Request) -> web.WebSocketResponse:
    """WebSocket: a snapshot of the sites the user may see, then deltas."""
    principal = require(request)
    if not same_origin(request):
        raise web.HTTPForbidden(text="the live feed is for this server's own pages")
    state = request.app[LIVE]
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    client = Client(ws, principal, principal.site_ids, request[LOGIN])
    await _send_snapshot(state, client)
    state.clients.add(client)
    state.metrics.clients = len(state.clients)
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT and message.data == "resync":
                with contextlib.suppress(ConnectionError):
                    await _resync(state, client)
    finally:
        state.clients.discard(client)
        state.metrics.clients = len(state.clients)
    return ws


async def _resync(state: LiveState, client: Client) -> None:
    """A fresh snapshot costs every visible site: one per RESYNC_EVERY_S, else a refusal."""
    wait = client.synced_at + RESYNC_EVERY_S - time.monotonic()
    if wait <= 0:
        await _send_snapshot(state, client)
        return
    refusal = {
        "type": "error",
        "error": f"resync at most once every {RESYNC_EVERY_S:g} s",
        "retry_after": round(wait, 1),
    }
    await client.ws.send_str(json.dumps(refusal))


async def _send_snapshot(state: LiveState, client: Client) -> None:
    client.synced_at = time.monotonic()
    await client.ws.send_str(json.dumps(state.snapshot(client.site_ids)))
