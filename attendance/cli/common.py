"""What every command shares: --config/--db, the engine, and output as a table or JSON."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from attendance.config import Settings, load_settings
from attendance.store.db import make_engine
from attendance.store.migrate import require_current


def with_settings(func: Callable) -> Callable:
    """Add --config and --db to a command and hand it the validated Settings."""

    @click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Settings file (TOML); default: $ATTENDANCE_CONFIG, else built-in defaults.",
    )
    @click.option("--db", "db_url", metavar="URL", help="Database URL; overrides the settings.")
    @functools.wraps(func)
    def wrapper(*args: Any, config_file: Path | None, db_url: str | None, **kwargs: Any) -> Any:
        overrides = {"database.url": db_url} if db_url else {}
        settings = load_settings(config_file, overrides=overrides)
        return func(*args, settings=settings, **kwargs)

    return wrapper


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")(func)


def open_engine(settings: Settings, *, initialised: bool = True) -> Engine:
    """The configured database; by default it must already be at the current schema."""
    engine = make_engine(settings.database)
    if initialised:
        require_current(engine)
    return engine


def emit(rows: list[dict[str, Any]], as_json: bool, columns: Sequence[str]) -> None:
    """Print rows as one JSON array (every field) or as an aligned table (the given columns)."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, default=_json_default, indent=1))
        return
    if not rows:
        click.echo("(none)", err=True)
        return
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)
    ]
    click.echo(
        "  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True))
    )
    for line in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    click.echo(f"({len(rows)} rows)", err=True)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
