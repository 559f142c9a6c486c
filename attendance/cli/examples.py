"""`attendance examples`: write the reproducible example files."""

from __future__ import annotations

from pathlib import Path

import click

from attendance.examples.generate import (
    ROSTER_HEADERS_VI,
    example_roster,
    example_sites,
    write_examples,
    write_table,
)


@click.group()
def examples() -> None:
    """Example sites and rosters with Vietnamese names, generated from a seed."""


@examples.command("write")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default="configs/examples")
@click.option("--sites", "site_count", type=click.IntRange(1, 63 * 999), default=900)
@click.option("--seed", type=int, default=2026)
def examples_write(out: Path, site_count: int, seed: int) -> None:
    """Write sites.xlsx, sites.csv and roster.xlsx (as committed in configs/examples)."""
    for path in write_examples(out, site_count, seed):
        click.echo(path)


@examples.command("roster")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--people", type=click.IntRange(1), required=True, help="About this many people.")
@click.option("--sites", "site_count", type=click.IntRange(1, 63 * 999), default=900)
@click.option("--seed", type=int, default=2026)
def examples_roster(file: Path, people: int, site_count: int, seed: int) -> None:
    """Write a roster of about PEOPLE people over the example sites (.xlsx, .csv or .txt)."""
    rows = example_roster(example_sites(site_count, seed), seed, people)
    write_table(rows, file, ROSTER_HEADERS_VI)
    click.echo(f"{file}: {len(rows)} people")


COMMANDS = (examples,)
