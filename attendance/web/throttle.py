"""Sign-in throttling: sign-ins are counted per user name and per client address for
`web.login_window_s` from the first of them; a sign-in past `web.login_failures_per_user` or
`…_per_address` is refused unchecked until that window ends.

An attempt is counted before its password is checked and given back if it succeeds (or is
refused), so that guesses sent all at once cannot pass the check together: what stays counted is
failures, and attempts still being checked.

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
from attendance.live.redis_bus import UNREACHABLE
from attendance.outage import Outage
from attendance.web.keys import SETTINGS

log = logging.getLogger("attendance.web.login")
MAX_NAME = 100  # longer user names cannot exist (users.USERNAME): one key holds them all
LOCAL_KEYS = 100_000  # past this many, expired keys are dropped from a local tally
# DECR only a key that still exists: on a missing one it would make a key that never expires.
GIVE_BACK = "if redis.call('exists', KEYS[1]) == 1 then redis.call('decr', KEYS[1]) end"
T = TypeVar("T")


class Attempts(Protocol):
    """Attempts per key, each key forgotten `window` seconds after its first attempt."""

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        """Count one more; (attempts now, seconds until they are forgotten)."""

    async def give_back(self, key: str) -> None: ...

    async def forget(self, key: str) -> None: ...


class LocalAttempts:
    def __init__(self) -> None:
        self._held: dict[str, tuple[int, float]] = {}  # key → (attempts, forgotten at, monotonic)

    def _current(self, key: str) -> tuple[int, float]:
        attempts, until = self._held.get(key, (0, 0.0))
        return (attempts, until) if until > time.monotonic() else (0, 0.0)

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        attempts, until = self._current(key)
        attempts, until = attempts + 1, until or time.monotonic() + window
        self._held[key] = (attempts, until)
        if len(self._held) > LOCAL_KEYS:
            now = time.monotonic()
            self._held = {k: held for k, held in self._held.items() if held[1] > now}
        return attempts, until - time.monotonic()

    async def give_back(self, key: str) -> None:
        attempts, until = self._current(key)
        if attempts:
            self._held[key] = (attempts - 1, until)

    async def forget(self, key: str) -> None:
        self._held.pop(key, None)


class RedisAttempts:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client, self.prefix = client, f"{prefix}:login:"
        self.local = LocalAttempts()
        self.outage = Outage(log, "login throttle: Redis")
        self._give_back = client.register_script(GIVE_BACK)

    async def hit(self, key: str, window: float) -> tuple[int, float]:
        async def shared() -> tuple[int, float]:
            name = self.prefix + key
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(name, 0, px=int(window * 1000), nx=True)  # the window starts
                _, attempts, left_ms = await pipe.incr(name).pttl(name).execute()
            return attempts, max(left_ms, 0) / 1000

        return await self._or_local(shared, lambda: self.local.hit(key, window))

    async def give_back(self, key: str) -> None:
        await self._or_local(
            lambda: self._give_back(keys=[self.prefix + key]), lambda: self.local.give_back(key)
        )

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
    def __init__(self, attempts: Attempts, settings: WebSettings) -> None:
        self.attempts, self.settings = attempts, settings

    def _limits(self, username: str, address: str) -> list[tuple[str, int]]:
        return [
            (_user_key(username), self.settings.login_failures_per_user),
            (_address_key(address), self.settings.login_failures_per_address),
        ]

    async def attempt(self, username: str, address: str) -> float:
        """Count a sign-in about to be checked; or, past a limit, count nothing and return the
        seconds until this user name may try again from this address (0: go ahead)."""
        wait = 0.0
        for key, limit in self._limits(username, address):
            attempts, left = await self.attempts.hit(key, self.settings.login_window_s)
            if attempts > limit:
                wait = max(wait, left)
        if wait:
            for key, _limit in self._limits(username, address):
                await self.attempts.give_back(key)
        return wait

    async def succeeded(self, username: str, address: str) -> None:
        """The user name's failures are forgotten, the address's are kept (a signed-in account
        of an attacker's own must not clear the count of their guesses at others); only this
        attempt is given back."""
        await self.attempts.forget(_user_key(username))
        await self.attempts.give_back(_address_key(address))


def _user_key(username: str) -> str:
    return f"user:{username[:MAX_NAME]}"


def _address_key(address: str) -> str:
    return f"address:{address}"


THROTTLE = web.AppKey("login_throttle", LoginThrottle)


async def throttle_context(app: web.Application) -> AsyncIterator[None]:
    """The app's throttle, on Redis when Redis is configured; its connection closed with it."""
    settings = app[SETTINGS]
    if settings.redis.url is None:
        app[THROTTLE] = LoginThrottle(LocalAttempts(), settings.web)
        yield
        return
    client = aioredis.Redis.from_url(settings.redis.url, socket_connect_timeout=2, socket_timeout=2)
    app[THROTTLE] = LoginThrottle(RedisAttempts(client, settings.redis.prefix), settings.web)
    yield
    await client.aclose()
