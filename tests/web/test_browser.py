"""The dashboard in a real Chromium: sign in through the form, watch counts change live and
come back after the server drops the socket, search 12,000 sites without diacritics, record a
headcount; an auditor sees no form and is refused a forged one. Screenshots go to
$ATTENDANCE_ARTIFACTS (default: the test's tmp_path).

Debian's /usr/bin/chromium is driven by Playwright, which never downloads a browser of its own
here. See DEVELOPERS.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import func, insert, select

from attendance.config import DatabaseSettings, Settings
from attendance.live.bus import EventBus
from attendance.live.events import SampleEvent
from attendance.store.db import make_engine
from attendance.store.models import Headcount, Region, Site
from attendance.web.app import create_app
from attendance.web.live import LIVE
from tests.web.harness import PASSWORD
from tests.web.test_pages import build_world

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Read at import: the autouse `clean_environment` fixture removes ATTENDANCE_* before each test.
ARTIFACTS = os.environ.get("ATTENDANCE_ARTIFACTS")
BULK_SITES = 12_000
START_TIMEOUT_S = 30


@dataclass
class Served:
    url: str
    app: web.Application
    loop: asyncio.AbstractEventLoop
    bus: EventBus

    def publish_sample(self, code: str, count: int) -> None:
        """As a worker would; the bus belongs to the server's loop, in another thread."""
        event = SampleEvent(code, datetime(2026, 11, 25, 1, tzinfo=UTC), "ok", count)
        self.loop.call_soon_threadsafe(self.bus.publish, event)

    def drop_live_connections(self) -> None:
        """As a restart or a proxy timeout would: every dashboard must reconnect by itself."""

        async def close_all() -> None:
            for client in list(self.app[LIVE].clients):
                await client.ws.close()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(START_TIMEOUT_S)


@contextlib.contextmanager
def serving_in_thread(db_url: str) -> Iterator[Served]:
    """The real app on a loopback port, its event loop in a thread of its own, so the test can
    drive the browser synchronously."""
    settings = Settings(database=DatabaseSettings(url=db_url))
    engine, bus = make_engine(settings.database), EventBus()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="web", daemon=True)
    thread.start()

    def call(coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(START_TIMEOUT_S)

    app = create_app(settings, engine, bus)
    runner = web.AppRunner(app)
    try:
        call(runner.setup())
        call(web.TCPSite(runner, "127.0.0.1", 0).start())
        yield Served(f"http://127.0.0.1:{runner.addresses[0][1]}", app, loop, bus)
    finally:
        call(runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT_S)
        loop.close()
        engine.dispose()


def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing: apt-get install chromium (see DEVELOPERS.md)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def add_bulk_sites(engine) -> None:
    """12,000 more sites without samples (offline): the size the site table must stay fast at."""
    with engine.begin() as connection:
        region = connection.execute(
            insert(Region).values(level="province", name="Cần Thơ", path="Cần Thơ")
        ).inserted_primary_key[0]
        rows = [
            {
                "code": f"CT-{n:05d}",
                "name": f"Điểm cầu xã số {n}",
                "province_id": region,
                "region_id": region,
                "timezone": "Asia/Ho_Chi_Minh",
            }
            for n in range(BULK_SITES)
        ]
        connection.execute(insert(Site), rows)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dashboard_in_chromium(cli, db, engine, tmp_path):
    executable = chromium()
    build_world(cli, db, engine, tmp_path)
    add_bulk_sites(engine)
    artifacts = Path(ARTIFACTS) if ARTIFACTS else tmp_path
    artifacts.mkdir(parents=True, exist_ok=True)
    with serving_in_thread(db) as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=FLAGS)
        try:
            organizer = signed_in(browser, served, "organizer")
            overview_goes_live(organizer, served, artifacts)
            site_table_searches_and_updates(organizer, served, artifacts)
            headcount_through_the_form(organizer, artifacts)
            auditor = signed_in(browser, served, "auditor")
            auditor_cannot_record(auditor, artifacts)
        finally:
            browser.close()
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Headcount)) == 1
    print(f"screenshots: {artifacts}")


def signed_in(browser: Browser, served: Served, username: str) -> Page:
    """A fresh browser context signed in through the login form, on the overview."""
    context = browser.new_context(base_url=served.url, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(f"{served.url}/login?next=/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{served.url}/")
    return page


def vi_number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def overview_goes_live(page: Page, served: Served, artifacts: Path) -> None:
    expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
    expect(page.locator("#total-present")).to_have_text("7")  # HN-001's last count
    offline = BULK_SITES + 2
    expect(page.locator("#sites-offline")).to_have_text(vi_number(offline))
    alerts = page.locator("#alert-count")
    expect(alerts).to_have_text(vi_number(offline))
    served.publish_sample("HN-001", 3)  # under half of its 9 expected: one more alert
    expect(page.locator("#total-present")).to_have_text("3")
    expect(alerts).to_have_text(vi_number(offline + 1))
    live_state = page.locator("#live-state")
    served.drop_live_connections()
    expect(live_state).to_have_attribute("data-state", "closed")
    expect(live_state).to_have_attribute("data-state", "open")  # reconnected, fresh snapshot
    served.publish_sample("HN-001", 17)
    expect(page.locator("#total-present")).to_have_text("17")
    expect(alerts).to_have_text(vi_number(offline))
    expect(page.locator("#alerts li")).to_have_count(100)  # the rest behind "and N more"
    page.screenshot(path=artifacts / "overview.png", full_page=True)


def site_table_searches_and_updates(page: Page, served: Served, artifacts: Path) -> None:
    page.click("nav.main-nav >> text=Điểm cầu")
    rows = page.locator("#rows tr.site")
    expect(page.locator("#shown")).to_have_text("12.003 / 12.003 điểm cầu")
    assert rows.count() < 80, "only the rows in view are in the DOM"
    page.locator("#scroller").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(page.locator('#rows tr[data-code="HN-002"]')).to_be_visible()
    page.fill("#q", "da nang")  # without diacritics
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-code", "DN-001")
    page.fill("#q", "phúc xá")
    expect(rows).to_have_count(1)
    count_cell = rows.first.locator(".col-count")
    expect(count_cell).to_have_text("17")
    served.publish_sample("HN-001", 21)
    expect(count_cell).to_have_text("21")  # a delta, in place
    page.fill("#q", "")
    page.select_option("#province", "Hà Nội")
    page.click("th[data-key=count] button")
    page.click("th[data-key=count] button")  # descending: HN-001 (21) first
    expect(rows.first).to_have_attribute("data-code", "HN-001")
    expect(page).to_have_url(f"{served.url}/sites?province=H%C3%A0+N%E1%BB%99i&sort=count&dir=desc")
    page.screenshot(path=artifacts / "sites.png")


def headcount_through_the_form(page: Page, artifacts: Path) -> None:
    page.click('#rows tr[data-code="HN-001"] a')
    expect(page.locator("h1")).to_contain_text("HN-001")
    expect(page.locator("#live-count")).to_have_text("21")
    expect(page.locator("#chart polyline")).to_have_count(2)
    expect(page.locator("#faces rect.face")).to_have_count(7)
    page.fill("#headcount input[name=count]", "20")
    page.fill("#headcount input[name=note]", "đếm tay ở cửa")
    page.click("#headcount button[type=submit]")
    message = page.locator("#headcount-message")
    expect(message).to_have_class("ok")
    expect(message).to_contain_text("stored")  # no camera count near now: it cannot calibrate
    page.screenshot(path=artifacts / "site-organizer.png", full_page=True)


FORGED_HEADCOUNT = """async () => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const answer = await fetch('/api/v1/sites/HN-001/headcounts', {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
    body: JSON.stringify({count: 99}),
  });
  return answer.status;
}"""


def auditor_cannot_record(page: Page, artifacts: Path) -> None:
    page.goto("/sites/HN-001")
    expect(page.locator("#reconciliation")).to_be_visible()
    expect(page.locator("#headcount")).to_have_count(0)
    assert page.evaluate(FORGED_HEADCOUNT) == 403
    page.screenshot(path=artifacts / "site-auditor.png", full_page=True)


def test_a_missing_chromium_fails_in_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(f"{__name__}.CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="is missing"):
        chromium()
