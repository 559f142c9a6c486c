"""`attendance worker`: sample the sites' streams (embedded: all of them; cluster: its share)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time

import click
import uvloop

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

    Without --embedded this is one worker of a cluster (redis.url and a PostgreSQL database
    set, e.g. with --config configs/cluster.toml): it samples the sites the cluster gives it
    and stands by to schedule every site's slots. Start as many as needed, on any machines.

    Ctrl-C (or SIGTERM) stops cleanly: samples in flight get a few seconds, the rest are
    recorded as interrupted, and nothing is left half-written.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("arq").setLevel(logging.WARNING)  # a line per job is too many
    if embedded:
        from workers.runtime import EmbeddedRuntime  # the composition root may import workers

        runtime = EmbeddedRuntime(
            open_engine(settings),
            settings.sampling,
            identify=settings.identify,
            evidence=settings.evidence,
        )
        asyncio.run(_run(runtime, minutes))
        return
    if not settings.redis.url:
        raise BadInput(
            "a cluster worker needs redis.url (set ATTENDANCE_REDIS_URL or use "
            "--config configs/cluster.toml); for one machine use --embedded"
        )
    if not settings.database.url.startswith("postgresql"):
        raise BadInput(
            f"a cluster worker needs PostgreSQL, not {settings.database.url.split(':')[0]}: "
            "workers on several machines share one database (one machine: --embedded)"
        )
    from attendance.live.redis_bus import RedisEventBus
    from workers.cluster.worker import ClusterWorker

    bus = RedisEventBus(settings.redis.url, settings.redis.prefix, listen=False)
    cluster_worker = ClusterWorker(settings, open_engine(settings), bus)
    # uvloop: a cluster worker's loop does a dozen Redis round trips and an HTTP grab per slot.
    uvloop.run(_run_cluster(cluster_worker, bus, minutes))


async def _run(runtime, minutes: float | None) -> None:
    stop = _stop_event()
    # Slots that start before `until` are all sampled, the last ones a little after it.
    until = None if minutes is None else time.time() + minutes * 60
    try:
        progress = await runtime.run(stop, until)
    finally:
        runtime.pool.close()
    click.echo(f"stopped: samples {progress.by_status}, {runtime.writer.written} stored")


async def _run_cluster(cluster_worker, bus, minutes: float | None) -> None:
    stop = _stop_event()
    if minutes is not None:
        asyncio.get_running_loop().call_later(minutes * 60, stop.set)
    await bus.start()
    try:
        await cluster_worker.run(stop)
    finally:
        await bus.close()
        cluster_worker.sampler.pool.close()
    sampler = cluster_worker.sampler
    click.echo(f"stopped: samples {sampler.progress.by_status}, {sampler.writer.written} stored")


def _stop_event() -> asyncio.Event:
    """Set by Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


COMMANDS = (worker,)
