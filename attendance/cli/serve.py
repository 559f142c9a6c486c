"""`attendance serve`: the web server, and with --embedded the sampling worker in it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable

import click
from aiohttp import web
from sqlalchemy import Engine

from attendance.cli.common import open_engine, with_settings
from attendance.config import Settings
from attendance.live.bus import EventBus
from attendance.live.redis_bus import RedisEventBus
from attendance.web.app import create_app

log = logging.getLogger("attendance.serve")


@click.command()
@click.option("--embedded", is_flag=True, help="Also run the embedded worker in this process.")
@click.option("--host", help="Address to listen on (default: web.host).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: web.port).")
@with_settings
def serve(embedded: bool, host: str | None, port: int | None, settings: Settings) -> None:
    """The dashboard and the REST API; with --embedded, the sampling worker too."""
    configure_logging()
    engine = open_engine(settings)
    asyncio.run(run_services(settings, engine, embedded, host, port, announce=click.echo))


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


async def run_services(
    settings: Settings,
    engine: Engine,
    embedded: bool,
    host: str | None = None,
    port: int | None = None,
    announce: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until Ctrl-C/SIGTERM (or `stop`); the embedded worker shares the live event bus."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with _event_bus(settings, embedded) as bus:
        runner = web.AppRunner(create_app(settings, engine, bus), shutdown_timeout=2.0)
        await runner.setup()
        host, port = host or settings.web.host, port or settings.web.port
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
        announce(f"dashboard: http://{host}:{port}/  (Ctrl-C stops)")
        sampling = asyncio.create_task(_sample(settings, engine, bus, stop)) if embedded else None
        try:
            await stop.wait()
        finally:
            if sampling is not None:
                await sampling
            await runner.cleanup()


@contextlib.asynccontextmanager
async def _event_bus(settings: Settings, embedded: bool) -> AsyncIterator[EventBus]:
    """In cluster mode the workers run elsewhere: their events, and those of every other web
    node, come through Redis. Embedded (or without Redis) everything is in this process."""
    if embedded or not settings.redis.url:
        yield EventBus()
        return
    async with RedisEventBus(settings.redis.url, settings.redis.prefix) as bus:
        yield bus


async def _sample(settings: Settings, engine: Engine, bus: EventBus, stop: asyncio.Event) -> None:
    """One embedded runtime per session, for as long as the server runs."""
    from workers.runtime import EmbeddedRuntime  # the composition root may import workers

    while not stop.is_set():
        runtime = EmbeddedRuntime(
            engine, settings.sampling, bus, identify=settings.identify, evidence=settings.evidence
        )
        try:
            await runtime.run(stop)
        except Exception:  # the dashboard stays up; the next session gets a fresh runtime
            log.exception("the embedded worker failed; restarting in 10 s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 10)
        finally:
            await asyncio.to_thread(runtime.pool.close)


COMMANDS = (serve,)
