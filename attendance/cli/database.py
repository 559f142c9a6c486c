"""`attendance init` and `attendance config`."""

from __future__ import annotations

import json

import click

from attendance.cli.common import open_engine, with_settings
from attendance.config import Settings, mask_url
from attendance.store import migrate


@click.command()
@with_settings
def init(settings: Settings) -> None:
    """Create the database, or upgrade it to the current schema. Safe to run again."""
    engine = open_engine(settings, initialised=False)
    before, after = migrate.upgrade(engine)
    where = mask_url(settings.database.url)
    if before is None:
        click.echo(f"{where}: created at revision {after}")
    elif before != after:
        click.echo(f"{where}: upgraded from revision {before} to {after}")
    else:
        click.echo(f"{where}: already at revision {after}")


@click.group()
def config() -> None:
    """Check and show the settings (file, ATTENDANCE_* variables, options)."""


@config.command("check")
@with_settings
def config_check(settings: Settings) -> None:
    """Validate the settings and exit 0, or name every bad key and exit 2."""
    click.echo(f"settings are valid; database: {mask_url(settings.database.url)}")


@config.command("show")
@with_settings
def config_show(settings: Settings) -> None:
    """Print the effective settings as JSON, with passwords masked."""
    data = settings.model_dump()
    data["database"]["url"] = mask_url(data["database"]["url"])
    data["redis"]["url"] = mask_url(data["redis"]["url"])
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


COMMANDS = (init, config)
