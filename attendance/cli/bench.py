"""`attendance bench …`: benchmarks that print their figures, last line one JSON object."""

from __future__ import annotations

import json

import click

from attendance.bench.imports import bench_roster_import


@click.group()
def bench() -> None:
    """Benchmarks on this machine; each prints its figures, the last line as JSON."""


@bench.command("import")
@click.option("--people", type=click.IntRange(1), default=150_000, show_default=True)
@click.option("--sites", type=click.IntRange(1, 63 * 999), default=900, show_default=True)
@click.option("--format", "file_format", type=click.Choice(["xlsx", "csv"]), default="xlsx")
@click.option(
    "--db", metavar="URL", help="SQLite or PostgreSQL URL (PostgreSQL: a scratch schema is used)."
)
def bench_import(people: int, sites: int, file_format: str, db: str | None) -> None:
    """Time a national roster import and an unchanged re-import; peak memory of each."""
    figures = bench_roster_import(people, sites, file_format, db, click.echo)
    click.echo(json.dumps(figures))


COMMANDS = (bench,)
