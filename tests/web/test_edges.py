"""The smaller findings of issue 14 (finding 7) at the web server's edge: who may read /metrics
and /readyz, the security headers of every response, Allow on a 405, Secure cookies."""

from __future__ import annotations

import pytest

from attendance.config import DatabaseSettings, Settings, WebSettings
from tests.web.harness import PASSWORD, add_users, run, serving
from tests.web.test_api import quick_passwords  # noqa: F401 (autouse: applies here too)
from tests.web.test_pages import sqlite_only

OPS_TOKEN = "an ops token, 16+ chars"
OPS_PATHS = ("/metrics", "/readyz")


def settings(db: str, **web) -> Settings:
    return Settings(database=DatabaseSettings(url=db), web=WebSettings(**web))


async def status_of(http, path: str, **headers: str) -> int:
    async with http.get(path, headers=headers) as r:
        return r.status


@sqlite_only
def test_metrics_and_readyz_answer_only_the_ops_token_once_it_is_set(db):
    async def scenario():
        async with serving(db, settings(db, ops_token=OPS_TOKEN)) as web, web.client() as http:
            for path in OPS_PATHS:
                assert await status_of(http, path) == 403
                # Any other bearer is taken for an API token, unknown: 401 as everywhere.
                assert await status_of(http, path, Authorization="Bearer not it") == 401
                assert await status_of(http, path, Authorization=f"Bearer {OPS_TOKEN}") == 200
            assert await status_of(http, "/healthz") == 200
            # The ops token is nobody's API token.
            bearer = {"Authorization": f"Bearer {OPS_TOKEN}"}
            assert await status_of(http, "/api/v1/sites", **bearer) == 401

    run(scenario())


@sqlite_only
def test_metrics_and_readyz_answer_only_allowed_addresses_once_listed(db):
    """Behind a trusted proxy the client's address is the one it forwards."""
    config = settings(db, ops_allow=["10.0.0.0/8"], trusted_proxies=["127.0.0.1"])

    async def scenario():
        async with serving(db, config) as web, web.client() as http:
            for path in OPS_PATHS:
                assert await status_of(http, path) == 403
                assert await status_of(http, path, **{"X-Forwarded-For": "192.0.2.1"}) == 403
                assert await status_of(http, path, **{"X-Forwarded-For": "10.1.2.3"}) == 200
                forged = {"X-Forwarded-For": "10.1.2.3, 192.0.2.1"}  # the client wrote the 10.x
                assert await status_of(http, path, **forged) == 403

    run(scenario())


@sqlite_only
def test_every_response_has_the_security_headers(db, engine):
    add_users(engine)

    async def scenario():
        async with serving(db) as web, web.client() as http:
            answers = [
                ("get", "/api/v1/sites", 401),  # an API error
                ("get", "/api/openapi.json", 200),
                ("get", "/static/app.css", 200),
                ("get", "/nowhere", 404),
                ("get", "/api/v1/nowhere", 404),
                ("delete", "/login", 405),
                ("get", "/healthz", 200),
                ("get", "/login", 200),
            ]
            for method, path, status in answers:
                async with http.request(method, path) as r:
                    assert r.status == status, path
                    assert r.headers.get("X-Content-Type-Options") == "nosniff", path
                    assert "frame-ancestors 'none'" in r.headers.get("Content-Security-Policy", "")
                    assert r.headers.get("Referrer-Policy") == "same-origin", path

    run(scenario())


@sqlite_only
def test_405_says_which_methods_are_allowed(db):
    async def scenario():
        async with serving(db) as web, web.client() as http:
            for path, allowed in (("/api/v1/login", {"POST"}), ("/login", {"GET", "HEAD", "POST"})):
                async with http.delete(path) as r:
                    assert r.status == 405
                    assert set(r.headers["Allow"].replace(" ", "").split(",")) == allowed, path

    run(scenario())


@sqlite_only
@pytest.mark.parametrize("secure", [False, True])
def test_cookies_are_secure_when_the_setting_says_so(db, engine, secure):
    """Behind a TLS-terminating proxy `web.secure_cookies` keeps every cookie off plain HTTP."""
    add_users(engine)

    async def scenario():
        async with serving(db, settings(db, secure_cookies=secure)) as web, web.client() as http:
            body = {"username": "organizer", "password": PASSWORD}
            async with http.post("/api/v1/login", json=body) as r:
                assert bool(r.cookies["attendance_login"]["secure"]) is secure
            async with web.client() as anon, anon.get("/login?lang=en") as r:
                assert bool(r.cookies["attendance_lang"]["secure"]) is secure

    run(scenario())
