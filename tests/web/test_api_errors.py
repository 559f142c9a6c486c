"""Bad requests to the API: each a clear 4xx JSON error that names the problem, none a change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from attendance.config import DatabaseSettings, Settings, WebSettings
from attendance.store.db import transaction
from attendance.store.models import ApiToken, LoginSession, User
from tests.web.harness import run, serving
from tests.web.test_api import (
    bearer,
    fingerprint,
    quick_passwords,  # noqa: F401 (autouse: applies here too)
    seed,
    session_id,
)

HEADCOUNTS = "/api/v1/sites/HN01/headcounts"
BAD_BODIES = [  # (body, what the message must mention)
    ({"count": "3"}, "count"),
    ({"count": -1}, "0–100000"),
    ({"count": True}, "count"),
    ({"count": 2.5}, "count"),
    ({}, "count"),
    ([3], "JSON object"),
    ({"count": 201}, "twice the site's capacity"),
    ({"count": 3, "at": "2026-11-25T08:00"}, "offset"),
    ({"count": 3, "at": "yesterday"}, "ISO 8601"),
    ({"count": 3, "at": 1764000000}, "ISO 8601"),
    ({"count": 3, "note": 5}, "note"),
    ({"count": 3, "note": "x" * 2001}, "note"),
    ({"count": 3, "by": "someone else"}, "unknown field(s): by"),
]


def bad_gets(sid: int) -> list[tuple[str, int, str]]:
    """(path, status, what the message must mention)."""
    return [
        ("/api/v1/sites/NOPE", 404, "NOPE"),
        ("/api/v1/sites/NOPE/samples", 404, "NOPE"),
        ("/api/v1/sites/NOPE/roster", 404, "NOPE"),
        ("/api/v1/sites/NOPE/headcounts", 404, "NOPE"),
        (f"/api/v1/sessions/{sid + 1}", 404, f"{sid + 1}"),
        (f"/api/v1/sessions/{sid + 1}/estimates", 404, f"{sid + 1}"),
        (f"/api/v1/sessions/{sid + 1}/reconciliation", 404, f"{sid + 1}"),
        ("/api/v1/sessions/latest", 404, "Not Found"),
        (f"/api/v1/sites/HN01/samples?session={sid + 1}", 404, f"{sid + 1}"),
        ("/api/v1/sites/HN01/samples?session=S1", 400, "session"),
        ("/api/v1/sites?limit=0", 400, "limit"),
        ("/api/v1/sites?limit=1001", 400, "1–1000"),
        ("/api/v1/sites?limit=ten", 400, "limit"),
        ("/api/v1/sessions?offset=-1", 400, "offset"),
        ("/api/v1/sites/HN01/roster?limit=5000", 400, "limit"),
        ("/api/v1/sites?status=broken", 400, "status"),
        (f"/api/v1/sessions/{sid}/reconciliation?status=late", 400, "status"),
    ]


async def expect_error(response, status: int, mentions: str) -> None:
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body) == {"error"} and body["error"]["status"] == status, body
    assert mentions in body["error"]["message"], body


def test_bad_requests_are_clear_4xx_errors_and_change_nothing(db, engine):
    tokens = seed(engine)
    with transaction(engine) as session:
        sid = session_id(session)
        admin = select(User.id).where(User.username == "admin").scalar_subquery()
        session.execute(
            update(ApiToken).where(ApiToken.user_id == admin).values(revoked_at=datetime.now(UTC))
        )
    before = fingerprint(engine)
    small = Settings(database=DatabaseSettings(url=db), web=WebSettings(max_body_kb=1))

    async def scenario():
        async with serving(db) as web:
            http, csrf = await web.login("organizer")
            with_csrf = {"X-CSRF-Token": csrf}
            async with http:
                for body, mentions in BAD_BODIES:
                    async with http.post(HEADCOUNTS, json=body, headers=with_csrf) as r:
                        await expect_error(r, 400, mentions)
                malformed = {**with_csrf, "Content-Type": "application/json"}
                async with http.post(HEADCOUNTS, data='{"count": 3', headers=malformed) as r:
                    await expect_error(r, 400, "not valid JSON")
                async with http.post(HEADCOUNTS, data="count=3", headers=with_csrf) as r:
                    await expect_error(r, 415, "application/json")
                async with http.post(
                    "/api/v1/sites/NOPE/headcounts", json={"count": 3}, headers=with_csrf
                ) as r:
                    await expect_error(r, 404, "NOPE")
                async with http.post(HEADCOUNTS, json={"count": 3}) as r:
                    await expect_error(r, 403, "CSRF")
                async with http.post(
                    HEADCOUNTS, json={"count": 3}, headers={"X-CSRF-Token": "x"}
                ) as r:
                    await expect_error(r, 403, "CSRF")
                for path, status, mentions in bad_gets(sid):
                    async with http.get(path) as r:
                        await expect_error(r, status, mentions)
                _expire_logins(web.engine)
                async with http.get("/api/v1/sites") as r:
                    await expect_error(r, 401, "sign in")
            async with web.client() as script:
                async with script.get("/api/v1/sites") as r:
                    await expect_error(r, 401, "sign in")
                for token in ("not-a-token", tokens["admin"]):  # unknown; revoked
                    async with script.get("/api/v1/sites", headers=bearer(token)) as r:
                        await expect_error(r, 401, "unknown or revoked")
                    async with script.post(
                        HEADCOUNTS, json={"count": 3}, headers=bearer(token)
                    ) as r:
                        await expect_error(r, 401, "unknown or revoked")
        async with serving(db, small) as web, web.client() as script:
            big = {"count": 3, "note": "x" * 1500}
            async with script.post(HEADCOUNTS, json=big, headers=bearer(tokens["organizer"])) as r:
                await expect_error(r, 413, "exceeded")

    run(scenario())
    assert fingerprint(engine) == before


def _expire_logins(engine) -> None:
    with transaction(engine) as session:
        earlier = datetime.now(UTC) - timedelta(minutes=1)
        session.execute(update(LoginSession).values(expires_at=earlier))
