"""Signing in as an attacker would try it (issue 14, finding 3): guessing passwords, guessing from
many addresses, across web nodes, from another site's page, and through the `next` link."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis

from attendance.config import DatabaseSettings, RedisSettings, Settings, WebSettings
from tests.web.harness import PASSWORD, add_users, run, serving
from tests.web.test_api import quick_passwords  # noqa: F401 (autouse: applies here too)
from tests.web.test_pages import form_login, sqlite_only

WRONG = {"username": "organizer", "password": "not the password"}
RIGHT = {"username": "organizer", "password": PASSWORD}


def settings(db: str, redis_url: str | None = None, prefix: str = "attendance", **web) -> Settings:
    return Settings(
        database=DatabaseSettings(url=db),
        redis=RedisSettings(url=redis_url, prefix=prefix),
        web=WebSettings(**web),
    )


def from_address(address: str) -> dict[str, str]:
    """What a trusted reverse proxy in front of the server adds for a client at `address`."""
    return {"X-Forwarded-For": address}


async def sign_in(http, body: dict, address: str = "192.0.2.1") -> tuple[int, dict]:
    async with http.post("/api/v1/login", json=body, headers=from_address(address)) as r:
        return r.status, dict(r.headers)


@sqlite_only
def test_a_user_name_is_locked_after_its_failures_from_any_address(db, engine):
    """Five wrong passwords (from five addresses), then the right one: 429 with Retry-After, on
    the API and the form; another user is unaffected."""
    add_users(engine)
    config = settings(db, trusted_proxies=["127.0.0.1"])

    async def scenario():
        async with serving(db, config) as web, web.client() as http:
            for n in range(5):
                assert (await sign_in(http, WRONG, f"192.0.2.{n}"))[0] == 401
            status, headers = await sign_in(http, RIGHT, "198.51.100.7")
            assert status == 429 and 0 < int(headers["Retry-After"]) <= 900
            form = {"username": "organizer", "password": PASSWORD, "next": "/"}
            async with http.post("/login", data=form, headers=from_address("198.51.100.8")) as r:
                assert r.status == 429 and "Đăng nhập sai quá nhiều lần" in await r.text()
                assert 0 < int(r.headers["Retry-After"]) <= 900
            assert (await sign_in(http, {**RIGHT, "username": "admin"}))[0] == 200

    run(scenario())


@sqlite_only
def test_an_address_is_locked_after_its_failures_at_any_user_name(db, engine):
    """Guesses spread over user names still count against the address they come from; its
    successful sign-ins (an office behind one address) do not."""
    add_users(engine)
    config = settings(db, trusted_proxies=["127.0.0.1"], login_failures_per_address=3)

    async def scenario():
        async with serving(db, config) as web, web.client() as http:
            for _ in range(4):
                async with web.client() as colleague:
                    assert (await sign_in(colleague, RIGHT, "192.0.2.9"))[0] == 200
            for name in ("admin", "auditor", "nobody"):
                assert (await sign_in(http, {**WRONG, "username": name}, "192.0.2.9"))[0] == 401
            assert (await sign_in(http, RIGHT, "192.0.2.9"))[0] == 429
            assert (await sign_in(http, RIGHT, "192.0.2.10"))[0] == 200

    run(scenario())


@sqlite_only
def test_a_lock_ends_with_its_window(db, engine):
    add_users(engine)
    config = settings(db, login_failures_per_user=1, login_window_s=1)

    async def scenario():
        async with serving(db, config) as web, web.client() as http:
            assert (await sign_in(http, WRONG))[0] == 401
            status, headers = await sign_in(http, RIGHT)
            assert status == 429 and headers["Retry-After"] == "1"
            await asyncio.sleep(1.1)
            assert (await sign_in(http, RIGHT))[0] == 200

    run(scenario())


@sqlite_only
def test_guesses_sent_at_once_get_no_more_tries(db, engine):
    """Each attempt is counted before its password is checked: twelve guesses at once, five
    checked."""
    add_users(engine)

    async def scenario():
        async with serving(db) as web, web.client() as http:
            answers = await asyncio.gather(*(sign_in(http, WRONG) for _ in range(12)))
            assert sorted(status for status, _ in answers) == [401] * 5 + [429] * 7

    run(scenario())


@sqlite_only
def test_web_nodes_on_one_redis_share_the_failures(db, engine, redis_url, redis_prefix):
    """Guesses spread over two web nodes behind a load balancer, sent at once, count as one: the
    attempts are held in Redis, under the deployment's prefix."""
    add_users(engine)
    config = settings(db, redis_url, redis_prefix, login_failures_per_user=4)

    async def scenario():
        async with (
            serving(db, config) as one,
            serving(db, config) as two,
            one.client() as first,
            two.client() as second,
        ):
            answers = await asyncio.gather(*(sign_in(http, WRONG) for http in [first, second] * 5))
            assert sorted(status for status, _ in answers) == [401] * 4 + [429] * 6
            for http in (first, second):
                status, headers = await sign_in(http, RIGHT)
                assert status == 429 and 0 < int(headers["Retry-After"]) <= 900

    run(scenario())
    client = redis.Redis.from_url(redis_url)
    try:
        assert int(client.get(f"{redis_prefix}:login:user:organizer")) == 4
        assert 0 < client.pttl(f"{redis_prefix}:login:user:organizer") <= 900_000
    finally:
        client.close()


@sqlite_only
def test_failed_sign_ins_are_logged_and_counted(db, engine, caplog):
    """The log names the user name and the address, never the password; /metrics counts the
    failures and the refusals."""
    add_users(engine)
    config = settings(db, login_failures_per_user=2)
    caplog.set_level(logging.WARNING, logger="attendance.web.login")

    async def scenario():
        async with serving(db, config) as web, web.client() as http:
            assert await web.metric("attendance_login_failures_total") == 0
            for _ in range(2):
                assert (await sign_in(http, WRONG))[0] == 401
            assert (await sign_in(http, RIGHT))[0] == 429
            assert await web.metric("attendance_login_failures_total") == 2
            assert await web.metric("attendance_login_throttled_total") == 1
            assert await web.metric("attendance_samples_total", status="ok") == 0

    run(scenario())
    failed = [r.getMessage() for r in caplog.records if "failed sign-in" in r.getMessage()]
    assert failed == ["failed sign-in as 'organizer' from 127.0.0.1"] * 2
    assert not any(WRONG["password"] in r.getMessage() for r in caplog.records)


@sqlite_only
def test_signing_in_from_another_sites_page_is_refused(db, engine):
    """Login CSRF: a page elsewhere must not sign the browser in (as the attacker). A request
    without Origin is no browser page's (curl, scripts) and goes through."""
    add_users(engine)

    async def scenario():
        async with serving(db) as web, web.client() as http:
            evil = {"Origin": "http://evil.example"}
            form = {"username": "organizer", "password": PASSWORD, "next": "/"}
            async with http.post("/login", data=form, headers=evil, allow_redirects=False) as r:
                assert r.status == 403 and "attendance_login" not in r.cookies
            async with http.post("/api/v1/login", json=RIGHT, headers=evil) as r:
                assert r.status == 403 and "attendance_login" not in r.cookies
            ours = {"Origin": str(web.server.make_url("")).rstrip("/")}
            for headers in (ours, {}):
                async with (
                    web.client() as fresh,
                    fresh.post("/api/v1/login", json=RIGHT, headers=headers) as r,
                ):
                    assert r.status == 200, headers

    run(scenario())


@sqlite_only
@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/\t/evil.example/", "/"),  # the next=/%09/evil.example/, as the form sends it
        ("/%09/evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("/%5Cevil.example/", "/"),
        ("//evil.example/", "/"),
        ("/%2F/evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("/sites?province=H%C3%A0+N%E1%BB%99i", "/sites?province=H%C3%A0+N%E1%BB%99i"),
    ],
)
def test_next_leads_only_to_a_path_on_this_site(db, engine, target, location):
    add_users(engine)

    async def scenario():
        async with serving(db) as web:
            http, r = await form_login(web, "organizer", next_path=target)
            async with http:
                assert r.status == 303 and r.headers["Location"] == location
                async with http.get("/login", params={"next": target}, allow_redirects=False) as r:
                    assert r.status == 302 and r.headers["Location"] == location

    run(scenario())


@sqlite_only
def test_with_redis_unreachable_each_node_still_throttles(db, engine, caplog):
    """Redis away (here: nothing listens on its port) must not turn throttling off, nor refuse
    every sign-in: the node counts on its own and says so once."""
    add_users(engine)
    config = settings(db, "redis://127.0.0.1:1/0", login_failures_per_user=2)

    async def scenario():
        async with serving(db, config) as web, web.client() as http:
            async with web.client() as admin:
                assert (await sign_in(admin, {**RIGHT, "username": "admin"}))[0] == 200
            for _ in range(2):
                assert (await sign_in(http, WRONG))[0] == 401
            assert (await sign_in(http, RIGHT))[0] == 429

    run(scenario())
    outages = [r for r in caplog.records if "login throttle: Redis unreachable" in r.getMessage()]
    assert len(outages) == 1
