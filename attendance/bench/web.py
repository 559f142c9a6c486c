"""The dashboard under load: N sites, C live clients, the workers' sample rate simulated.

The server runs as its own process (`attendance.bench.web_server`) so its peak RSS is its own.
A real Chromium measures the overview's first render and the longest main-thread task while
updates stream in; C WebSocket clients measure how long an update takes to reach them (from
the moment the server applied the event to the moment a client has it).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import aiohttp

from attendance.bench.imports import run_cli
from attendance.bench.reconcile import generate_roster
from attendance.config import DatabaseSettings
from attendance.errors import AttendanceError
from attendance.examples.generate import SITE_HEADERS_VI, example_sites, write_table
from attendance.store.db import make_engine, transaction
from attendance.users import add_user
from attendance.web.live import rows_of

PASSWORD = "bench password"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PEOPLE_PER_SITE = 100
WATCH_S = 20.0


def bench_web(sites: int, clients: int, rate: float, port: int, report) -> dict:
    with tempfile.TemporaryDirectory(prefix="attendance-bench-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'web.db'}"
        _prepare(db, sites, Path(tmp))
        report(f"{sites} sites, {sites * PEOPLE_PER_SITE} roster entries; {rate:g} samples/s")
        server = subprocess.Popen(
            [sys.executable, "-m", "attendance.bench.web_server", db, str(port), str(rate)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            if server.stdout.readline().strip() != "ready":
                raise RuntimeError("the web server did not start")
            url = f"http://127.0.0.1:{port}"
            browser = _browser_figures(url)
            report(f"browser: {browser}")
            delays = asyncio.run(_client_delays(url, clients))
            rss = _peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(10)
    figures = {
        "sites": sites,
        "clients": clients,
        "first_render_ms": browser["first_render_ms"],
        "longest_task_ms": browser["longest_task_ms"],
        "update_p50_ms": round(statistics.median(delays)),
        "update_p95_ms": round(statistics.quantiles(delays, n=20)[-1]),
        "updates": len(delays),
        "server_rss_mb": rss,
    }
    return figures


def _prepare(db: str, sites: int, workdir: Path) -> None:
    site_file = write_table(example_sites(sites), workdir / "sites.csv", SITE_HEADERS_VI)
    run_cli("init", "--db", db)
    run_cli("sites", "import", str(site_file), "--db", db)
    engine = make_engine(DatabaseSettings(url=db))
    generate_roster(engine, sites * PEOPLE_PER_SITE, random.Random(1))
    with transaction(engine) as session:
        add_user(session, "organizer", "organizer", PASSWORD)
    engine.dispose()


def _browser_figures(url: str) -> dict:
    """First render of the overview after signing in, then the longest main-thread task on
    the site table while updates stream in."""
    with chromium() as browser:
        page = browser.new_page(bypass_csp=True)  # lets the bench observe long tasks
        page.add_init_script(LONG_TASKS)
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "organizer")
        page.fill("input[name=password]", PASSWORD)
        started = time.perf_counter()
        page.click("button[type=submit]")
        page.wait_for_selector("html[data-live=ready]", state="attached", timeout=30_000)
        first_render = (time.perf_counter() - started) * 1000
        page.goto(f"{url}/sites")
        page.wait_for_selector("html[data-live=ready]", state="attached", timeout=30_000)
        page.wait_for_timeout(WATCH_S * 1000)
        longest = page.evaluate("Math.max(0, ...window.__longTasks)")
    return {"first_render_ms": round(first_render), "longest_task_ms": round(longest)}


LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({type: "longtask", buffered: true});
"""


async def _client_delays(url: str, clients: int) -> list[float]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=url, cookie_jar=jar) as http:
        login = {"username": "organizer", "password": PASSWORD}
        async with http.post("/api/v1/login", json=login) as response:
            response.raise_for_status()
        sockets = [await http.ws_connect("/api/v1/live") for _ in range(clients)]
        for ws in sockets:
            await ws.receive_json()  # the snapshot
        delays: list[float] = []
        await asyncio.gather(*(_listen(ws, delays) for ws in sockets))
        for ws in sockets:
            await ws.close()
    return delays


async def _listen(ws, delays: list[float]) -> None:
    until = time.time() + WATCH_S
    while (left := until - time.time()) > 0:
        try:
            message = await ws.receive_json(timeout=left)
        except TimeoutError:
            break
        now = time.time()
        for row in rows_of(message) if "rows" in message else ():
            if row.at:
                delays.append((now - _epoch(row.at)) * 1000)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    raise RuntimeError("no VmHWM in /proc: cannot read the server's peak memory")


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's Chromium through Playwright (a dev dependency); never a downloaded browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise AttendanceError("bench web needs the dev dependencies: uv sync") from exc
    if not Path(CHROMIUM).exists():
        raise AttendanceError(f"bench web needs Chromium at {CHROMIUM}: apt install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
