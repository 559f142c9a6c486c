"""`attendance purge`: delete evidence images past their retention, keep the samples."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from attendance.audit import evidence
from attendance.cli.common import open_engine, with_settings
from attendance.config import Settings
from attendance.errors import AttendanceError, BadInput
from attendance.store.db import transaction

UNITS = {"h": "hours", "d": "days"}


@click.command("purge")
@click.option(
    "--older-than",
    "age",
    metavar="AGE",
    help="Images of samples older than this go: 12h, 30d, 90d (default: evidence.retention_days).",
)
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@with_settings
def purge(age: str | None, dry_run: bool, settings: Settings) -> None:
    """Delete the evidence images of old samples; the samples, their counts and image hashes
    stay, so the audit chain stays valid. A purge is recorded in the audit log."""
    keep = parse_age(age) if age else timedelta(days=settings.evidence.retention_days)
    cutoff = datetime.now(UTC) - keep
    with transaction(open_engine(settings)) as db:
        done = evidence.purge(db, Path(settings.evidence.dir), cutoff, dry_run)
    if dry_run:
        for path, size in done.files:
            click.echo(f"{path}\t{size}")
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"{verb} {len(done.files)} evidence images ({done.bytes} bytes) of samples before "
        f"{cutoff.isoformat(timespec='seconds')}",
        err=dry_run,
    )
    for path, why in done.failed:
        click.echo(f"cannot delete {path}: {why}", err=True)
    if done.failed:
        raise AttendanceError(f"{len(done.failed)} evidence images could not be deleted")


def parse_age(text: str) -> timedelta:
    """'12h' or '90d': a positive whole number of hours or days."""
    match = re.fullmatch(r"(\d+)([hd])", text.strip())
    if not match or int(match.group(1)) == 0:
        raise BadInput(f"--older-than {text!r}: expected hours or days, e.g. 12h or 90d")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


COMMANDS = (purge,)
