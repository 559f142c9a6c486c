"""Signing in, CSRF, tokens and the operational endpoints, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from attendance.store.db import transaction
from attendance.users import create_token
from tests.web.harness import PASSWORD, add_users, run, serving


def test_login_cookie_csrf_and_tokens(db, engine):
    add_users(engine)
    with transaction(engine) as session:
        token = create_token(session, "auditor", "script", datetime.now(UTC))

    async def scenario():
        async with serving(db) as web:
            http, csrf = await web.login("organizer")
            async with http:
                async with http.post("/api/v1/logout") as r:  # a write without the CSRF token
                    assert r.status == 403 and "CSRF" in (await r.json())["error"]["message"]
                async with http.post("/api/v1/logout", headers={"X-CSRF-Token": csrf}) as r:
                    assert r.status == 200 and (await r.json())["signed_out"] is True
            async with web.client() as anon:
                async with anon.post(
                    "/api/v1/login", json={"username": "organizer", "password": PASSWORD + "x"}
                ) as r:
                    assert r.status == 401
                    assert (await r.json())["error"]["message"] == "wrong user name or password"
                async with anon.post(
                    "/api/v1/login", data="{not json", headers={"Content-Type": "application/json"}
                ) as r:
                    assert r.status == 400 and "not valid JSON" in await r.text()
                async with anon.get("/api/v1/live", headers={"Authorization": "Bearer nope"}) as r:
                    assert r.status == 401
                async with anon.get("/api/v1/live") as r:
                    assert r.status == 401
                bearer = {"Authorization": f"Bearer {token}"}
                async with anon.ws_connect("/api/v1/live", headers=bearer) as ws:
                    first = await ws.receive_json()
                    assert first["type"] == "snapshot" and first["rows"] == []
                async with anon.get("/healthz") as r:
                    assert r.status == 200
                async with anon.get("/readyz") as r:
                    assert r.status == 200 and (await r.json())["status"] == "ready"
                async with anon.get("/metrics") as r:
                    assert "attendance_samples_total" in await r.text()

    run(scenario())
