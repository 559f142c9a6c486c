"""`attendance demo`: the whole product on one machine, from a fresh clone, with one command.

A fresh SQLite database under ./var gets the example sites (pointing at an in-process camera
simulator) and their rosters, a session running now, and a user per role; then the simulator,
the embedded worker and the dashboard start together. Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from aiohttp import web

from attendance.cli.serve import configure_logging, run_services
from attendance.conferences import create_conference, create_session
from attendance.config import Settings, load_settings
from attendance.examples.generate import example_roster, example_sites, write_table
from attendance.importing.roster import import_roster
from attendance.importing.sites import import_sites
from attendance.simulate.cameras import CameraSettings, facts, site_profile
from attendance.simulate.server import SimulatorConfig, init_app
from attendance.store.db import make_engine, transaction
from attendance.store.migrate import upgrade
from attendance.store.sites import set_roi
from attendance.users import add_user
from attendance.vision.roi import Roi

SEED = 2026
DEMO_CADENCE_S = 15  # livelier than the default 30 s
ROLES = ("admin", "organizer", "auditor")


@click.command()
@click.option("--sites", type=click.IntRange(1, 900), default=40, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var"),
    show_default=True,
    help="Where the demo database and files go (replaced on each run).",
)
def demo(sites: int, port: int, workdir: Path) -> None:
    """Simulated cameras, the worker and the dashboard with example data: see counts move."""
    configure_logging()
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "demo.db"
    for stale in workdir.glob("demo.db*"):
        stale.unlink()
    shutil.rmtree(workdir / "evidence", ignore_errors=True)  # the old database's images
    settings = load_settings(
        None,
        overrides={
            "database.url": f"sqlite:///{database}",
            "web.port": port,
            "sampling.cadence_s": DEMO_CADENCE_S,
            "evidence.dir": str(workdir / "evidence"),
        },
    )
    camera_port = _free_port()
    password = secrets.token_urlsafe(9)
    codes = _prepare(settings, workdir, sites, camera_port, password)
    click.echo(f"demo: {sites} sites, database {database}")
    click.echo(f"sign in as organizer (or admin, auditor) with password: {password}")
    asyncio.run(_run(settings, codes, camera_port))


def _prepare(settings: Settings, workdir: Path, count: int, camera_port: int, password: str):
    engine = make_engine(settings.database)
    upgrade(engine)
    rows = example_sites(count, SEED, stream_base=f"http://127.0.0.1:{camera_port}/cameras")
    site_file = write_table(rows, workdir / "sites.csv", {name: name for name in rows[0]})
    import_sites(engine, site_file, default_timezone=settings.sites.timezone, actor="demo")
    people = example_roster(rows, SEED)
    roster_file = write_table(people, workdir / "roster.csv", {name: name for name in people[0]})
    import_roster(engine, roster_file, actor="demo")
    codes = [row["site_code"] for row in rows]
    camera = CameraSettings()
    for code in codes:  # the ROI an operator would draw: everything but the projection screen
        screen = facts(camera, site_profile(camera, SEED, code)).screen
        if screen:
            set_roi(engine, code, Roi(exclude=(tuple(map(tuple, screen)),)).to_json(), "demo")
    now = datetime.now(UTC)
    with transaction(engine) as session:
        create_conference(session, "DEMO", "Hội nghị trực tuyến (demo)")
        create_session(
            session,
            "DEMO",
            "S1",
            "Phiên 1",
            now - timedelta(minutes=1),
            now + timedelta(hours=3),
            DEMO_CADENCE_S,
        )
        for role in ROLES:
            add_user(session, role, role, password, full_name=f"Demo {role}")
    engine.dispose()
    return codes


async def _run(settings: Settings, codes: list[str], camera_port: int) -> None:
    config = SimulatorConfig(tuple(codes), SEED, CameraSettings())
    cameras = web.AppRunner(init_app(config), access_log=None, shutdown_timeout=2.0)
    await cameras.setup()
    await web.TCPSite(cameras, "127.0.0.1", camera_port).start()
    try:
        engine = make_engine(settings.database)
        await run_services(settings, engine, embedded=True, announce=click.echo)
    finally:
        await cameras.cleanup()
    click.echo("demo stopped")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


COMMANDS = (demo,)
