"""The live WebSocket as a reader's connection (issue 14, finding 6): it took any Origin, stayed
open after logout (25 more rows sent) and answered 300 `resync`s with 300 full snapshots."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import update

from attendance.live.events import SampleEvent
from attendance.store.db import transaction
from attendance.store.models import LoginSession
from attendance.web.live import LOGIN_CHECK_S, RESYNC_EVERY_S, rows_of
from tests.web.harness import run, serving
from tests.web.test_api import quick_passwords, seed  # noqa: F401 (a fixture)

RESYNCS = 300


async def _collect(ws: aiohttp.ClientWebSocketResponse, into: list) -> None:
    """Every message until the socket closes (the close itself included)."""
    async for message in ws:
        into.append(message.json())
    into.append(("closed", ws.close_code))


async def _publish_until(web, done: asyncio.Future, published: list[int]) -> None:
    """A sample a tenth of a second, as a busy worker sends them, until `done`."""
    while not done.done():
        published.append(len(published) + 1)
        web.bus.publish(SampleEvent("HN01", datetime.now(UTC), "ok", published[-1]))
        await asyncio.sleep(0.1)


async def _until(check, seconds: float = 10.0) -> None:
    """Wait for `check()`, a poll every 20 ms: as long as it takes, never a fixed guess."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.02)


async def _signing_out(web, http, csrf: str, sign_out) -> tuple[list, list[int]]:
    """What a socket got while samples went on, and the counts published after `sign_out`
    returned (none of which it may get)."""
    ws = await http.ws_connect("/api/v1/live")
    received: list = []
    published: list[int] = []
    reader = asyncio.create_task(_collect(ws, received))
    publisher = asyncio.create_task(_publish_until(web, reader, published))
    await _until(lambda: any(isinstance(m, dict) and m["type"] == "delta" for m in received))
    await sign_out(http, csrf)
    cut = len(published)
    await asyncio.wait_for(reader, LOGIN_CHECK_S + 3)
    await publisher
    return received, published[cut:]


def _counts(received: list) -> set[int]:
    deltas = [message for message in received[:-1] if message["type"] == "delta"]
    return {row.count for message in deltas for row in rows_of(message)}


async def _logout(http, csrf: str) -> None:
    async with http.post("/api/v1/logout", headers={"X-CSRF-Token": csrf}) as response:
        assert response.status == 200


def _expire(engine):
    """The login expires in the database, as after `web.login_hours` (or a logout elsewhere)."""

    async def expire(_http, _csrf) -> None:
        with transaction(engine) as session:
            past = datetime.now(UTC) - timedelta(seconds=1)
            session.execute(update(LoginSession).values(expires_at=past))

    return expire


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_origin_logout_expiry_and_resync(db, engine):
    seed(engine)

    async def scenario():
        async with serving(db) as web:
            http, csrf = await web.login("organizer")
            async with http:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await http.ws_connect("/api/v1/live", origin="http://evil.example")
                assert refused.value.status == 403
                async with http.ws_connect("/api/v1/live", origin=web.url("")) as ws:
                    assert (await ws.receive_json())["type"] == "snapshot"
                    for _ in range(RESYNCS):
                        await ws.send_str("resync")
                    answers = [await ws.receive_json(timeout=5) for _ in range(RESYNCS)]
                kinds = [answer["type"] for answer in answers]
                assert kinds.count("snapshot") == 0 and kinds.count("error") == RESYNCS
                assert 0 < answers[0]["retry_after"] <= RESYNC_EVERY_S

                received, later = await _signing_out(web, http, csrf, _logout)
            assert received[-1] == ("closed", aiohttp.WSCloseCode.POLICY_VIOLATION)
            assert _counts(received), "no delta before the logout"
            assert not _counts(received) & set(later), "rows sent after the logout"

            http, csrf = await web.login("organizer")
            async with http:
                received, later = await _signing_out(web, http, csrf, _expire(engine))
            assert received[-1] == ("closed", aiohttp.WSCloseCode.POLICY_VIOLATION)
            assert _counts(received), "no delta before the expiry"
            assert len(set(later) & _counts(received)) <= LOGIN_CHECK_S / 0.1, "sent on and on"

    run(scenario())
