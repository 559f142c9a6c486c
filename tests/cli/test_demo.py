"""`attendance demo` as a new user runs it: a URL and a password, counts within a minute,
and a clean stop on Ctrl-C."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import aiohttp

from attendance.web.live import rows_of

COUNT_WITHIN_S = 90


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read_until(process: subprocess.Popen, pattern: str, seconds: float) -> re.Match:
    deadline, seen = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if found := re.search(pattern, line):
            return found
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"no {pattern!r} in the demo's output:\n{''.join(seen)}")


async def _first_count(url: str, password: str) -> dict:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=url, cookie_jar=jar) as http:
        login = {"username": "organizer", "password": password}
        async with http.post("/api/v1/login", json=login) as response:
            assert response.status == 200, await response.text()
        async with http.ws_connect("/api/v1/live") as ws:
            snapshot = await ws.receive_json()
            assert snapshot["type"] == "snapshot" and len(snapshot["rows"]) == 3
            while True:
                message = await ws.receive_json()
                counted = [row for row in rows_of(message) if row.count is not None]
                if counted:
                    return asdict(counted[0])


def test_demo_shows_counts_and_stops_cleanly(tmp_path: Path):
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "attendance",
        "demo",
        "--sites",
        "3",
        "--port",
        str(port),
        "--dir",
        str(tmp_path / "var"),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    try:
        password = _read_until(process, r"password: (\S+)", 60).group(1)
        url = _read_until(process, r"dashboard: (http://\S+)", 30).group(1)
        site = asyncio.run(asyncio.wait_for(_first_count(url, password), COUNT_WITHIN_S))
        assert site["count"] > 0 and site["status"] == "live"
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "Traceback" not in rest and "demo stopped" in rest
    assert (tmp_path / "var" / "demo.db").exists()
