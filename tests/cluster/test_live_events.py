"""Live events across processes through a real Redis: every node hears every event exactly once,
a deployment with another prefix hears none, the buses reconnect by themselves after Redis
restarts, and two real `attendance serve` nodes both show a worker's sample."""

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
from pathlib import Path

import aiohttp
import pytest

from attendance.live.redis_bus import RedisEventBus
from tests.helpers import site, write_sites
from tests.web.harness import metric_value

PASSWORD = "correct horse battery"


class Ear:
    """A local subscriber of a bus that keeps what it hears."""

    def __init__(self, bus: RedisEventBus) -> None:
        self.heard: list[dict] = []
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


def _sorted(events: list[dict]) -> list[dict]:
    return sorted(events, key=lambda event: json.dumps(event, sort_keys=True))


def test_an_event_reaches_every_node_exactly_once_and_no_other_deployment(redis_url, redis_prefix):
    async def scenario() -> None:
        async with (
            RedisEventBus(redis_url, redis_prefix) as a,
            RedisEventBus(redis_url, redis_prefix) as b,
            RedisEventBus(redis_url, f"{redis_prefix}-other") as other,
            ears(a, b, other) as (ear_a, ear_b, ear_other),
        ):
            a.publish("sample", {"site": "S-001", "status": "ok", "count": 3})
            a.publish("sample", {"site": "S-002", "status": "ok", "count": 5})
            b.publish("site_status", {"site": "S-001", "status": "stale", "reason": "quiet"})
            expected = [
                {"kind": "sample", "site": "S-001", "status": "ok", "count": 3},
                {"kind": "sample", "site": "S-002", "status": "ok", "count": 5},
                {"kind": "site_status", "site": "S-001", "status": "stale", "reason": "quiet"},
            ]
            await eventually(
                lambda: len(ear_a.heard) >= 3 and len(ear_b.heard) >= 3, 5, "all events on both"
            )
            await asyncio.sleep(0.5)  # time for a duplicate or a leak to show
            assert _sorted(ear_a.heard) == _sorted(expected)
            assert _sorted(ear_b.heard) == _sorted(expected)
            assert ear_other.heard == []
            assert a.counters() == {"published": 2, "sent": 2, "received": 3, "dropped": 0}
            assert other.received == 0

    asyncio.run(scenario())


def test_buses_reconnect_by_themselves_when_redis_comes_back(private_redis, caplog):
    caplog.set_level(logging.INFO, logger="attendance.live.bus")

    async def scenario() -> None:
        async with (
            RedisEventBus(private_redis.url, "restart") as a,
            RedisEventBus(private_redis.url, "restart") as b,
            ears(a, b) as (ear_a, ear_b),
        ):
            private_redis.stop()
            a.publish("sample", {"site": "during", "status": "ok"})  # queued, no exception
            await eventually(lambda: not a.subscribed.is_set(), 5, "the outage noticed")
            await asyncio.sleep(1)  # a few failed attempts
            await asyncio.to_thread(private_redis.start)

            def heard_after(ear: Ear) -> list[dict]:
                return [event for event in ear.heard if event["site"] == "after"]

            # Pub/sub drops what nobody hears yet: probe until both listeners are back.
            deadline = time.monotonic() + 5
            while not (heard_after(ear_a) and heard_after(ear_b)):
                assert time.monotonic() < deadline, "no event heard on both buses after restart"
                b.publish("sample", {"site": "after", "status": "ok"})
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.3)  # the last probes arrive
            ear_a.heard.clear()
            ear_b.heard.clear()
            a.publish("sample", {"site": "final", "status": "ok", "count": 7})
            await eventually(lambda: ear_a.heard and ear_b.heard, 2, "an event after recovery")
            await asyncio.sleep(0.3)
            final = [{"kind": "sample", "site": "final", "status": "ok", "count": 7}]
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
        if any(row[0] == code and row[4] == count for row in message["rows"]):
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
                assert {row[0]: row[4] for row in snapshot["rows"]} == {"HN01": None, "HN02": None}
                sockets.append(ws)
            async with RedisEventBus(redis_url, redis_prefix) as worker:
                worker.publish("sample", {"site": "HN02", "status": "ok", "count": 42})
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
