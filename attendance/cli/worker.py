"""`attendance worker`: sample every site's stream for the active session."""

from __future__ import annotations

import asyncio
import logging
import signal
import time

import click

from attendance.cli.common import open_engine, with_settings
from attendance.config import Settings
from attendance.errors import BadInput


@click.command()
@click.option(
    "--embedded",
    is_flag=True,
    help="Scheduler, sources and detection in this process tree (SQLite or PostgreSQL).",
)
@click.option("--minutes", type=click.FloatRange(0, min_open=True), help="Stop after this long.")
@with_settings
def worker(embedded: bool, minutes: float | None, settings: Settings) -> None:
    """Sample every enabled site once per cadence slot while a session is active.

    Ctrl-C (or SIGTERM) stops cleanly: samples in flight get a few seconds, the rest are
    recorded as interrupted, and nothing is left half-written.
    """
    if not embedded:
        raise BadInput("cluster workers are not available yet: use --embedded")
    from workers.runtime import EmbeddedRuntime  # the composition root may import workers

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    engine = open_engine(settings)
    runtime = EmbeddedRuntime(
        engine, settings.sampling, identify=settings.identify, evidence=settings.evidence
    )
    asyncio.run(_run(runtime, minutes))


async def _run(runtime, minutes: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    until = None if minutes is None else time.time() + minutes * 60
    try:
        progress = await runtime.run(stop, until)
    finally:
        runtime.pool.close()
    click.echo(f"stopped: samples {progress.by_status}, {runtime.writer.written} stored")


COMMANDS = (worker,)
