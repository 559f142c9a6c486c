"""`attendance audit export` and `audit export-verify`: signed audit bundles and their check.

They join the `audit` group of attendance/cli/audit.py (`audit verify`), where an auditor
looks for them; this module is imported by the CLI for that.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from attendance.audit.bundle import (
    Bundle,
    BundleAltered,
    export_conference,
    signing_key,
    verify_bundle,
)
from attendance.cli.audit import EXIT_BROKEN, audit
from attendance.cli.common import open_engine, with_settings
from attendance.config import Settings
from attendance.store.audit_log import local_actor
from attendance.store.db import transaction


@audit.command("export")
@click.option("--conference", "code", required=True, metavar="CODE")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_settings
def export_command(code: str, out: Path, settings: Settings) -> None:
    """Write a conference's signed bundle (JSON lines): sessions, reconciliations, estimates,
    corrections, headcounts, samples and their audit events, then the chain head and an
    HMAC-SHA256 with audit.signing_key."""
    signing_key(settings)  # refuse before any work
    part = out.with_name(out.name + ".part")
    try:
        with transaction(open_engine(settings)) as db, part.open("wb") as file:
            bundle = export_conference(db, code, settings, datetime.now(UTC), file, local_actor())
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)
    click.echo(f"{out}: {_describe(bundle)}, signed")


@audit.command("export-verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_settings
@click.pass_context
def export_verify_command(ctx: click.Context, file: Path, settings: Settings) -> None:
    """Check a bundle's signature with audit.signing_key; exit 3 if any byte of it changed."""
    key = signing_key(settings)
    try:
        with file.open("rb") as lines:
            bundle = verify_bundle(lines, key)
    except BundleAltered as exc:
        click.echo(f"{file}: NOT VALID: {exc}", err=True)
        ctx.exit(EXIT_BROKEN)
    click.echo(f"{file}: signature valid; {_describe(bundle)}")


def _describe(bundle: Bundle) -> str:
    return (
        f"conference {bundle.conference}, {bundle.lines} lines, exported {bundle.exported_at}, "
        f"audit chain head {bundle.chain_head or '—'} ({bundle.chain_events} events)"
    )


COMMANDS = ()  # the commands above are the `audit` group's
