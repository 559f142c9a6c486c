"""`attendance serve` and `attendance users …`: the web server and the people who use it."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import click
from aiohttp import web
from sqlalchemy import Engine

from attendance.cli.common import emit, json_option, open_engine, with_settings
from attendance.config import Settings
from attendance.live.bus import EventBus
from attendance.live.redis_bus import RedisEventBus
from attendance.store.db import transaction
from attendance.users import add_user, create_token, list_users
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


@click.group()
def users() -> None:
    """People who sign in to the dashboard or call the API."""


@users.command("add")
@click.argument("username")
@click.option(
    "--role", required=True, type=click.Choice(["admin", "organizer", "operator", "auditor"])
)
@click.option("--name", "full_name", help="Full name, shown in logs and reports.")
@click.option("--site", "sites", multiple=True, metavar="CODE", help="Operator scope (repeatable).")
@click.option(
    "--region", "regions", multiple=True, metavar="PATH", help="Operator scope: a region path."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_settings
def users_add(
    username, role, full_name, sites, regions, password_stdin, settings: Settings
) -> None:
    """Add USERNAME with a role (operators: with their sites or regions)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass()
    with transaction(open_engine(settings)) as session:
        add_user(session, username, role, password, full_name, list(sites), list(regions))
    click.echo(f"user {username} ({role}) added")


@users.command("list")
@json_option
@with_settings
def users_list(as_json: bool, settings: Settings) -> None:
    """Users with their roles and scopes."""
    with transaction(open_engine(settings)) as session:
        rows = list_users(session)
    emit(rows, as_json, ("username", "role", "full_name", "scope", "active"))


@users.command("token")
@click.argument("username")
@click.option("--label", help="What the token is for, e.g. 'export script'.")
@with_settings
def users_token(username: str, label: str | None, settings: Settings) -> None:
    """Create an API token for USERNAME; it is printed once (send it as 'Authorization: Bearer')."""
    with transaction(open_engine(settings)) as session:
        token = create_token(session, username, label, datetime.now(UTC))
    click.echo(token)


COMMANDS = (serve, users)
