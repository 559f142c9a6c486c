"""Real HTTP servers on loopback for the frame-source tests.

pytest-asyncio is not a dependency: tests are sync and run their async body with asyncio.run,
starting servers inside it with the `serve` fixture.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest
from aiohttp import web

Serve = Callable[[list[web.RouteDef]], AbstractAsyncContextManager[str]]


@contextlib.asynccontextmanager
async def _serve(routes: list[web.RouteDef]) -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(routes)
    # Handlers that stream forever are cancelled at shutdown after this grace period.
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
def serve() -> Serve:
    """`async with serve([web.get("/x", handler)]) as base_url:` — an aiohttp app on a free port."""
    return _serve
