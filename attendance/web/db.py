"""The one chokepoint from handlers to the (synchronous) store: a transaction in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from attendance.store.db import transaction
from attendance.web.keys import ENGINE

T = TypeVar("T")


async def in_transaction(request: web.Request, work: Callable[..., T], *args: Any) -> T:
    """Run `work(session, *args)` in one transaction off the event loop."""
    engine = request.app[ENGINE]

    def run() -> T:
        with transaction(engine) as session:
            return work(session, *args)

    return await asyncio.to_thread(run)
