"""The real web app on a loopback port over a real database, with one user per role."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from attendance.config import DatabaseSettings, Settings
from attendance.live.bus import EventBus
from attendance.store.db import make_engine, transaction
from attendance.users import add_user
from attendance.web.app import create_app

PASSWORD = "correct horse battery"
USERS = {"admin": "admin", "organizer": "organizer", "auditor": "auditor"}


@dataclass
class Web:
    server: TestServer
    bus: EventBus
    engine: Any

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def client(self) -> aiohttp.ClientSession:
        # unsafe=True: keep cookies from an IP address (127.0.0.1), as browsers do.
        jar = aiohttp.CookieJar(unsafe=True)
        return aiohttp.ClientSession(base_url=self.server.make_url(""), cookie_jar=jar)

    async def metric(self, name: str, **labels: str) -> float:
        """One sample of /metrics, as Prometheus would read it (0 when it is not there yet)."""
        async with self.client() as http, http.get("/metrics") as r:
            return metric_value(await r.text(), name, **labels)

    async def login(self, username: str) -> tuple[aiohttp.ClientSession, str]:
        """A client session signed in as `username`, and its CSRF token."""
        http = self.client()
        async with http.post(
            "/api/v1/login", json={"username": username, "password": PASSWORD}
        ) as r:
            assert r.status == 200, await r.text()
            return http, (await r.json())["csrf_token"]


def metric_value(exposition: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def add_users(engine, operator_sites: list[str] = ()) -> None:
    with transaction(engine) as session:
        for name, role in USERS.items():
            add_user(session, name, role, PASSWORD)
        if operator_sites:
            add_user(session, "operator", "operator", PASSWORD, sites=list(operator_sites))


@contextlib.asynccontextmanager
async def serving(db_url: str, settings: Settings | None = None) -> AsyncIterator[Web]:
    settings = settings or Settings(database=DatabaseSettings(url=db_url))
    engine = make_engine(settings.database)
    bus = EventBus()
    server = TestServer(create_app(settings, engine, bus))
    async with server:
        yield Web(server, bus, engine)
    engine.dispose()


def run(coroutine: Coroutine) -> Any:
    return asyncio.run(coroutine)
