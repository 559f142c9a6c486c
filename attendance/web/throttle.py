"""Sign-in throttling: failed sign-ins are counted per user name and per client address for
`web.login_window_s` from the first of them; past `web.login_failures_per_user` or
`…_per_address` the next sign-in is refused unchecked until that window ends.

The counts live in Redis when `redis.url` is set, so that every web node behind a load balancer
counts the same failures (keys `<prefix>:login:*`, expiring by themselves), and in this process
otherwise. While Redis is unreachable a node counts on its own: throttling stays on, looser,
rather than every sign-in being refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, TypeVar

import redis.asyncio as aioredis
from aiohttp import web

from attendance.config import WebSettings
from attendance.events_redis import UNREACHABLE
from attendance.outage import Outage
from attendance.web.keys import SETTINGS

log = logging.getLogger("attendance.web.login")
MAX_NAME = 100  # longer user names cannot exist (users.USERNAME): one key holds them all
LOCAL_KEYS = 100_000  # past this many, expired keys are dropped from a local tally
T = TypeVar("T")


class Failures(Protocol):
    """Failures per key, each key forgotten `window` seconds after its first failure."""

    async def count(self, key: str) -> tuple[int, float]:
        """(failures, seconds until they are forgotten)."""

    async def add(self, key: str, window: float) -> None: ...

    async def forget(self, key: str) -> None: ...


class LocalFailures:
    def __init__(self) -> None:
        self._held: dict[str, tuple[int, float]] = {}  # key → (failures, forgotten at, monotonic)

    async def count(self, key: str) -> tuple[int, float]:
        failures, until = self._held.get(key, (0, 0.0))
        left = until - time.monotonic()
        return (failures, left) if left > 0 else (0, 0.0)

    async def add(self, key: str, window: float) -> None:
        failures, left = await self.count(key)
        self._held[key] = (failures + 1, time.monotonic() + (left if failures else window))
        if len(self._held) > LOCAL_KEYS:
            now = time.monotonic()
            self._held = {k: held for k, held in self._held.items() if held[1] > now}

    async def forget(self, key: str) -> None:
        self._held.pop(key, None)


class RedisFailures:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client, self.prefix = client, f"{prefix}:login:"
        self.local = LocalFailures()
        self.outage = Outage(log, "login throttle: Redis")

    async def count(self, key: str) -> tuple[int, float]:
        async def shared() -> tuple[int, float]:
            async with self.client.pipeline(transaction=False) as pipe:
                failures, left_ms = (
                    await pipe.get(self.prefix + key).pttl(self.prefix + key).execute()
                )
            return (int(failures), left_ms / 1000) if failures and left_ms > 0 else (0, 0.0)

        return await self._or_local(shared, lambda: self.local.count(key))

    async def add(self, key: str, window: float) -> None:
        async def shared() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(self.prefix + key, 0, px=int(window * 1000), nx=True)
                await pipe.incr(self.prefix + key).execute()  # INCR keeps the expiry

        await self._or_local(shared, lambda: self.local.add(key, window))

    async def forget(self, key: str) -> None:
        await self._or_local(
            lambda: self.client.delete(self.prefix + key), lambda: self.local.forget(key)
        )

    async def _or_local(
        self, shared: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]
    ) -> T:
        try:
            result = await shared()
        except UNREACHABLE as exc:
            self.outage.failed(exc)  # logged once per outage
            return await local()
        self.outage.over()
        return result


class LoginThrottle:
    def __init__(self, failures: Failures, settings: WebSettings) -> None:
        self.failures, self.settings = failures, settings

    def _limits(self, username: str, address: str) -> list[tuple[str, int]]:
        return [
            (_user_key(username), self.settings.login_failures_per_user),
            (f"address:{address}", self.settings.login_failures_per_address),
        ]

    async def retry_after(self, username: str, address: str) -> float:
        """Seconds until this user name may try again from this address; 0: now."""
        wait = 0.0
        for key, limit in self._limits(username, address):
            failures, left = await self.failures.count(key)
            if failures >= limit:
                wait = max(wait, left)
        return wait

    async def failed(self, username: str, address: str) -> None:
        for key, _limit in self._limits(username, address):
            await self.failures.add(key, self.settings.login_window_s)

    async def succeeded(self, username: str) -> None:
        """The user name's failures are forgotten, the address's are not: a signed-in account of
        an attacker's own must not reset the count of their guesses at others."""
        await self.failures.forget(_user_key(username))


def _user_key(username: str) -> str:
    return f"user:{username[:MAX_NAME]}"


THROTTLE = web.AppKey("login_throttle", LoginThrottle)


async def throttle_context(app: web.Application) -> AsyncIterator[None]:
    """The app's throttle, on Redis when Redis is configured; its connection closed with it."""
    settings = app[SETTINGS]
    if settings.redis.url is None:
        app[THROTTLE] = LoginThrottle(LocalFailures(), settings.web)
        yield
        return
    client = aioredis.Redis.from_url(settings.redis.url, socket_connect_timeout=2, socket_timeout=2)
    app[THROTTLE] = LoginThrottle(RedisFailures(client, settings.redis.prefix), settings.web)
    yield
    await client.aclose()
