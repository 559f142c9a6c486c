"""The `attendance` command: the composition root that wires settings, store and services."""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import OperationalError

from attendance import __version__
from attendance.cli import (
    audit,
    bench,
    conferences,
    database,
    demo,
    evidence,
    examples,
    identify,
    registry,
    results,
    serve,
    simulate,
    users,
    vision,
    worker,
)
from attendance.errors import AttendanceError, BadInput

EXIT_RUNTIME, EXIT_BAD_INPUT = 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="attendance")
def cli() -> None:
    """Measure who is actually present at every site of a multi-point video conference.

    Start with `attendance init`, then import sites and rosters. Every command takes
    --config FILE and --db URL; lists take --json.
    """


for module in (
    database,
    registry,
    conferences,
    results,
    demo,
    serve,
    users,
    examples,
    simulate,
    vision,
    identify,
    worker,
    evidence,
    audit,
    bench,
):
    for command in module.COMMANDS:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exit 2 for bad input (files, options, settings), 1 for runtime failures."""
    try:
        code = cli.main(args=argv, prog_name="attendance", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return EXIT_RUNTIME
    except BadInput as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_BAD_INPUT
    except AttendanceError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_RUNTIME
    except OperationalError as exc:
        click.echo(f"error: database unavailable: {exc.orig}", err=True)
        return EXIT_RUNTIME
    return code if isinstance(code, int) else 0  # click returns ctx.exit(code) codes


if __name__ == "__main__":
    sys.exit(main())
