"""Live events across processes through a real Redis: every node hears every event exactly once
and unchanged (the typed events of attendance/live/events.py), a deployment with another prefix
hears none, a malformed message is ignored with a warning, the buses reconnect by themselves
after Redis restarts, and two real `attendance serve` nodes both show a worker's sample."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from attendance.live.events import Event, SampleEvent, StoreEvent
from attendance.live.redis_bus import RedisEventBus
from attendance.web.live import rows_of
from tests.helpers import site, write_sites
from tests.web.harness import metric_value

PASSWORD = "correct horse battery"
SLOT = datetime(2026, 11, 25, 1, 0, 30, tzinfo=UTC)


def sample(site: str, count: int | None = None, status: str = "ok") -> SampleEvent:
    return SampleEvent(site, SLOT, status, count)


class Ear:
    """A local subscriber of a bus that keeps what it hears."""

    def __init__(self, bus: RedisEventBus) -> None:
        self.heard: list[Event] = []
        self._task = asyncio.create_task(self._follow(bus))

    async def _follow(self, bus: RedisEventBus) -> None:
        async for event in bus.subscribe():
            self.heard.append(event)

    def stop(self) -> None:
        self._task.cancel()


@asynccontextmanager
async def ears(*buses: RedisEventBus) -> AsyncIterator[list[Ear]]:
    listening = [Ear(bus) for bus in buses]
    await asyncio.sleep(0)  # let each subscribe before anything is published
    try:
        yield listening
    finally:
        for ear in listening:
            ear.stop()


async def eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        await asyncio.sleep(0.05)


def _sorted(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda event: json.dumps(event.to_json(), sort_keys=True))


def test_an_event_reaches_every_node_exactly_once_and_no_other_deployment(redis_url, redis_prefix):
    async def scenario() -> None:
        async with (
            RedisEventBus(redis_url, redis_prefix) as a,
            RedisEventBus(redis_url, redis_prefix) as b,
            RedisEventBus(redis_url, f"{redis_prefix}-other") as other,
            ears(a, b, other) as (ear_a, ear_b, ear_other),
        ):
            expected = [sample("S-001", 3), sample("S-002", 5), StoreEvent("w:1", "disk full")]
            a.publish(expected[0])
            a.publish(expected[1])
            b.publish(expected[2])
            await eventually(
                lambda: len(ear_a.heard) >= 3 and len(ear_b.heard) >= 3, 5, "all events on both"
            )
            await asyncio.sleep(0.5)  # time for a duplicate or a leak to show
            assert _sorted(ear_a.heard) == _sorted(expected)
            assert _sorted(ear_b.heard) == _sorted(expected)
            assert ear_other.heard == []
            counters = {"published": 2, "sent": 2, "received": 3, "dropped": 0, "malformed": 0}
            assert a.counters() == counters
            assert other.received == 0

    asyncio.run(scenario())


# Every field set, and every optional one unset; text beyond ASCII, a time not in UTC.
ROUND_TRIP = [
    SampleEvent(
        "Điểm-cầu-01",
        datetime(2026, 11, 25, 8, 0, 30, 125000, tzinfo=timezone(timedelta(hours=7))),
        "ok",
        count=1234,
        lag_s=2.57,
        detect_ms=812.5,
    ),
    SampleEvent("S-002", SLOT, "deferred"),
    SampleEvent("S-003", SLOT, "gated", count=0, lag_s=0.0, detect_ms=None),
    StoreEvent("host:42", "database is locked: «samples»"),
    StoreEvent("host:42", None),
]


def test_every_event_crosses_redis_unchanged(redis_url, redis_prefix):
    """The contract between workers and web nodes: what a worker publishes is, field for field
    and of the same types, what a web node hears (a count stays an int, a slot an aware time)."""

    async def scenario() -> None:
        async with (
            RedisEventBus(redis_url, redis_prefix, listen=False) as worker,
            RedisEventBus(redis_url, redis_prefix) as node,
            ears(node) as (ear,),
        ):
            for event in ROUND_TRIP:
                worker.publish(event)
            await eventually(lambda: len(ear.heard) >= len(ROUND_TRIP), 5, "every event")
            assert ear.heard == ROUND_TRIP  # one publisher: Redis keeps its order
            for sent, heard in zip(ROUND_TRIP, ear.heard, strict=True):
                assert type(heard) is type(sent)
                assert {k: type(v) for k, v in heard.to_json().items()} == {
                    k: type(v) for k, v in sent.to_json().items()
                }
            assert ear.heard[0].slot.utcoffset() == timedelta(hours=7)

    asyncio.run(scenario())


MALFORMED = [
    b"not json at all",
    b"[1, 2, 3]",
    b'{"site": "S-001", "status": "ok"}',  # no kind
    b'{"kind": "site_status", "site": "S-001", "status": "stale", "reason": "quiet"}',
    b'{"kind": "sample", "site": "S-001", "status": "ok"}',  # no slot
    b'{"kind": "sample", "site": "S-001", "slot": "soon", "status": "ok"}',
    b'{"kind": "sample", "site": "S-001", "slot": "2026-11-25T01:00:00", "status": "ok"}',
    b'{"kind": "sample", "site": "S-001", "slot": "2026-11-25T01:00:00Z", "status": "melted"}',
    b'{"kind": "sample", "site": "S-001", "slot": "2026-11-25T01:00:00Z", "status": "ok", '
    b'"count": "12"}',
    b'{"kind": "sample", "site": "S-001", "slot": "2026-11-25T01:00:00Z", "status": "ok", '
    b'"lag_s": NaN}',
    b'{"kind": "store", "error": "no writer"}',
    b"\xff\xfe",
]


def test_a_malformed_event_is_ignored_with_a_warning_and_the_bus_goes_on(
    redis_url, redis_prefix, caplog
):
    """A stray PUBLISH on our channel, or a worker of another version, must not crash the
    listener nor reach a subscriber; the log says so once, not once per message."""
    caplog.set_level(logging.WARNING, logger="attendance.live.bus")

    async def scenario() -> None:
        stray = aioredis.Redis.from_url(redis_url)
        async with RedisEventBus(redis_url, redis_prefix) as node, ears(node) as (ear,):
            for message in MALFORMED:
                await stray.publish(f"{redis_prefix}:events", message)
            good = sample("S-001", 7)
            node.publish(good)
            await eventually(lambda: ear.heard, 5, "the good event after the bad ones")
            await asyncio.sleep(0.2)
            assert ear.heard == [good]
            assert node.malformed == len(MALFORMED) and node.received == 1
            assert node.subscribed.is_set()
        await stray.aclose()

    asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.name == "attendance.live.bus"]
    assert len(warnings) == 1, warnings  # the others within MALFORMED_LOG_EVERY_S are counted
    assert "ignored a malformed event (not JSON" in warnings[0]
    assert not any(r.exc_info for r in caplog.records)


def test_buses_reconnect_by_themselves_when_redis_comes_back(private_redis, caplog):
    caplog.set_level(logging.INFO, logger="attendance.live.bus")

    async def scenario() -> None:
        async with (
            RedisEventBus(private_redis.url, "restart") as a,
            RedisEventBus(private_redis.url, "restart") as b,
            ears(a, b) as (ear_a, ear_b),
        ):
            private_redis.stop()
            a.publish(sample("during"))  # queued, no exception
            await eventually(lambda: not a.subscribed.is_set(), 5, "the outage noticed")
            await asyncio.sleep(1)  # a few failed attempts
            await asyncio.to_thread(private_redis.start)

            def heard_after(ear: Ear) -> list[Event]:
                return [event for event in ear.heard if event.site == "after"]

            # Pub/sub drops what nobody hears yet: probe until both listeners are back.
            deadline = time.monotonic() + 5
            while not (heard_after(ear_a) and heard_after(ear_b)):
                assert time.monotonic() < deadline, "no event heard on both buses after restart"
                b.publish(sample("after"))
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.3)  # the last probes arrive
            ear_a.heard.clear()
            ear_b.heard.clear()
            a.publish(sample("final", 7))
            await eventually(lambda: ear_a.heard and ear_b.heard, 2, "an event after recovery")
            await asyncio.sleep(0.3)
            final = [sample("final", 7)]
            assert (ear_a.heard, ear_b.heard) == (final, final)
            assert a.dropped == b.dropped == 0

    asyncio.run(scenario())
    records = [r for r in caplog.records if r.name == "attendance.live.bus"]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    # One warning per task (sender, listener) of each bus, whatever the number of attempts.
    assert 1 <= len(warnings) <= 4, [r.getMessage() for r in warnings]
    assert not any(r.exc_info for r in records)
    assert any("back" in r.getMessage() for r in records)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "attendance", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _wait_ready(http: aiohttp.ClientSession, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 10
    while True:
        assert process.poll() is None, f"serve exited:\n{log.read_text()}"
        try:
            async with http.get("/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        assert time.monotonic() < deadline, f"serve not ready in 10 s:\n{log.read_text()}"
        await asyncio.sleep(0.1)


async def _count_seen(ws: aiohttp.ClientWebSocketResponse, code: str, count: int) -> None:
    """Read live messages until one shows site `code` with `count`."""
    while True:
        message = await ws.receive_json()
        if any(row.code == code and row.count == count for row in rows_of(message)):
            return


@pytest.mark.postgres
def test_two_web_nodes_both_show_a_sample_published_elsewhere(
    cli, postgres_url, redis_url, redis_prefix, tmp_path, monkeypatch
):
    sites = write_sites(tmp_path / "sites.csv", [site("HN01"), site("HN02")])
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    for args in (
        ("init",),
        ("sites", "import", sites),
        ("users", "add", "organizer", "--role", "organizer", "--password-stdin"),
    ):
        result = cli(*args, "--db", postgres_url)
        assert result.code == 0, result.err
    env = {name: value for name, value in os.environ.items() if not name.startswith("ATTENDANCE_")}
    env |= {
        "ATTENDANCE_DATABASE_URL": postgres_url,
        "ATTENDANCE_REDIS_URL": redis_url,
        "ATTENDANCE_REDIS_PREFIX": redis_prefix,
    }
    ports = [_free_port(), _free_port()]
    logs = [tmp_path / f"node-{n}.log" for n in range(2)]
    nodes = [_serve(port, env, log) for port, log in zip(ports, logs, strict=True)]

    async def scenario() -> None:
        sessions = [
            aiohttp.ClientSession(
                base_url=f"http://127.0.0.1:{port}", cookie_jar=aiohttp.CookieJar(unsafe=True)
            )
            for port in ports
        ]
        try:
            sockets = []
            for http, node, log in zip(sessions, nodes, logs, strict=True):
                await _wait_ready(http, node, log)
                login = {"username": "organizer", "password": PASSWORD}
                async with http.post("/api/v1/login", json=login) as response:
                    assert response.status == 200, await response.text()
                ws = await http.ws_connect("/api/v1/live")
                snapshot = await ws.receive_json()
                assert snapshot["type"] == "snapshot"
                assert {row.code: row.count for row in rows_of(snapshot)} == {
                    "HN01": None,
                    "HN02": None,
                }
                sockets.append(ws)
            async with RedisEventBus(redis_url, redis_prefix) as worker:
                worker.publish(sample("HN02", 42))
                await asyncio.wait_for(
                    asyncio.gather(*(_count_seen(ws, "HN02", 42) for ws in sockets)), 5
                )
            for http in sessions:  # each node heard it once, from Redis
                async with http.get("/metrics") as response:
                    exposition = await response.text()
                assert (
                    metric_value(exposition, "attendance_bus_events_total", stage="received") == 1
                )
        finally:
            for http in sessions:
                await http.close()

    try:
        asyncio.run(scenario())
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            try:
                node.wait(10)
            except subprocess.TimeoutExpired:
                node.kill()
