"""What this web node heard of the sample writers (live/writer_health.py), for /readyz."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from aiohttp import web

from attendance.live.bus import EventBus
from attendance.live.writer_health import WriterHealth
from attendance.web.keys import BUS

WRITERS = web.AppKey("writers", WriterHealth)


async def writers_context(app: web.Application) -> AsyncIterator[None]:
    """Follow the writers' outcomes on the bus for as long as the app runs."""
    health = app[WRITERS] = WriterHealth()
    follower = asyncio.create_task(_follow(health, app[BUS]))
    yield
    follower.cancel()


async def _follow(health: WriterHealth, bus: EventBus) -> None:
    async for event in bus.subscribe():
        health.on_event(event, time.time())


def writer_problems(app: web.Application) -> list[str]:
    return app[WRITERS].problems(time.time())
