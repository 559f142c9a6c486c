"""`attendance audit verify`: prove that the audit chain, and the samples it lists, are intact;
`audit export` and `audit export-verify`: signed audit bundles and their check."""

from __future__ import annotations

import json
import re
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
from attendance.audit.verify import MAX_KEPT, Verification, verify
from attendance.cli.common import open_engine, with_settings
from attendance.config import Settings
from attendance.errors import BadInput
from attendance.store.audit_log import local_actor
from attendance.store.db import transaction

EXIT_BROKEN = 3  # neither bad input (2) nor a runtime failure (1): the records were altered
SHOWN = 20
HASH = re.compile(r"[0-9a-f]{64}")


@click.group()
def audit() -> None:
    """The audit log: one hash chain over every change of record, samples included."""


@audit.command("verify")
@click.option(
    "--head",
    metavar="HASH",
    help="A head printed by an earlier verify; it must still be in the chain.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_settings
@click.pass_context
def verify_command(ctx: click.Context, head: str | None, as_json: bool, settings: Settings) -> None:
    """Check every event and every sample; exit 3 naming what was changed, deleted or inserted
    behind the application's back, 0 when all is intact.

    Events form one chain in id order, each hashing the one before. Samples are listed, with
    the SHA-256 of their content, in the `samples.store` event of the batch that stored them.
    Keep the head printed here (e.g. in a signed report) and give it later with --head: events
    deleted from the very end of the chain cannot be seen otherwise.
    """
    given = None if head is None else _hash(head)
    result = verify(open_engine(settings), given)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        _print(result)
    if not result.intact:
        ctx.exit(EXIT_BROKEN)


def _hash(value: str) -> str:
    if not HASH.fullmatch(value.strip().lower()):
        raise BadInput(f"--head: expected the 64 hex digits of a hash, got {value!r}")
    return value.strip().lower()


def _print(result: Verification) -> None:
    count = result.problem_count
    state = "intact" if result.intact else f"BROKEN ({count} problem{'s' * (count > 1)})"
    head = f"head event {result.head_id} {result.head}" if result.head_id else "no events"
    click.echo(f"audit chain {state}: {result.events} events, {result.samples} samples; {head}")
    if result.given_head_at is not None:
        click.echo(f"given head: event {result.given_head_at}, still in the chain")
    for n, problem in enumerate(result.problems[:SHOWN]):
        click.echo(f"{'first problem' if n == 0 else 'problem'}: {problem}")
    if count > SHOWN:
        click.echo(f"… and {count - SHOWN} more (--json lists up to {MAX_KEPT:,})")


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


COMMANDS = (audit,)
