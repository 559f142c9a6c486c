"""`attendance sites …` and `attendance roster …`: import and list."""

from __future__ import annotations

import json
from pathlib import Path

import click

from attendance.cli.common import emit, json_option, open_engine, with_settings
from attendance.config import Settings
from attendance.enrolment.enroll import Enrollment, enroll_photos
from attendance.errors import BadInput, RecordNotFound
from attendance.importing.report import Plan
from attendance.importing.roster import import_roster
from attendance.importing.sites import import_sites
from attendance.store.db import transaction
from attendance.store.roster import list_roster
from attendance.store.sites import list_sites, site_exists

import_file = click.argument("file", type=click.Path(path_type=Path))
dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Validate and print what would change; write nothing."
)
sheet_option = click.option("--sheet", help="Excel sheet to read (default: the first).")


@click.group()
def sites() -> None:
    """Sites (hookup points): import from Excel/CSV, list."""


@sites.command("import")
@import_file
@dry_run_option
@click.option("--prune", is_flag=True, help="Disable enabled sites that are not in the file.")
@sheet_option
@json_option
@with_settings
def sites_import(
    file: Path, dry_run: bool, prune: bool, sheet: str | None, as_json: bool, settings: Settings
) -> None:
    """Import sites from FILE (.xlsx, .xls, .ods, .csv, .txt); updates by site code.

    All or nothing: any bad row rejects the whole file, listing every problem.
    """
    plan = import_sites(
        open_engine(settings),
        file,
        default_timezone=settings.sites.timezone,
        dry_run=dry_run,
        prune=prune,
        sheet=sheet,
        limits=settings.imports,
    )
    _report(file, plan, dry_run, as_json, removed_word="disabled")


@sites.command("list")
@click.option("--province", help="Only this province (diacritics and case ignored).")
@json_option
@with_settings
def sites_list(province: str | None, as_json: bool, settings: Settings) -> None:
    """List sites with their region and roster size."""
    with transaction(open_engine(settings)) as session:
        rows = list_sites(session, province)
    columns = ("code", "name", "province", "capacity", "registered", "exempt", "enabled")
    emit(rows, as_json, columns)


@click.group()
def roster() -> None:
    """Rosters (who must attend each site): import from Excel/CSV, list, enroll photos."""


@roster.command("import")
@import_file
@dry_run_option
@sheet_option
@json_option
@with_settings
def roster_import(
    file: Path, dry_run: bool, sheet: str | None, as_json: bool, settings: Settings
) -> None:
    """Import roster entries from FILE; updates by person code.

    The file is authoritative for the sites it names: their members missing from the file are
    deactivated. All or nothing: any bad row rejects the whole file, listing every problem.
    """
    plan = import_roster(
        open_engine(settings), file, dry_run=dry_run, sheet=sheet, limits=settings.imports
    )
    _report(file, plan, dry_run, as_json, removed_word="deactivated")


@roster.command("list")
@click.option("--site", "site_code", metavar="CODE", help="Only this site.")
@click.option("--all", "include_inactive", is_flag=True, help="Include deactivated entries.")
@json_option
@with_settings
def roster_list(
    site_code: str | None, include_inactive: bool, as_json: bool, settings: Settings
) -> None:
    """List roster entries, by site and person code."""
    with transaction(open_engine(settings)) as session:
        if site_code is not None and not site_exists(session, site_code):
            raise RecordNotFound(f"no site with code {site_code!r}; see `attendance sites list`")
        rows = list_roster(session, site_code, include_inactive)
    columns = (
        "site_code",
        "person_code",
        "full_name",
        "unit",
        "role",
        "exempt",
        "consent_biometric",
    )
    emit(rows, as_json, columns)


@roster.command("photos")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_settings
def roster_photos(directory: Path, as_json: bool, settings: Settings) -> None:
    """Enroll face photos for identification from DIRECTORY: `P0001.jpg`, or `P0001/*.jpg` for
    several photos of one person, named by person code (.jpg, .jpeg, .png).

    Only people who consented (consent_biometric) are enrolled; every other photo is listed with
    the reason it was skipped. Safe to repeat: a photo already enrolled is not stored again.
    """
    report = enroll_photos(open_engine(settings), directory)
    _photos_report(directory, report, as_json)
    if not report.enrolled and not report.already:
        raise BadInput(f"{directory}: no photo could be enrolled")


def _photos_report(directory: Path, report: Enrollment, as_json: bool) -> None:
    if as_json:
        skipped = [{"photo": name, "reason": why} for name, why in report.skipped.items()]
        record = {
            "directory": str(directory),
            "enrolled": report.enrolled,
            "already_enrolled": report.already,
            "skipped": skipped,
        }
        click.echo(json.dumps(record, ensure_ascii=False))
        return
    counts = report.counts()
    click.echo(
        f"{directory}: enrolled {counts['enrolled']} photos, "
        f"{counts['already_enrolled']} already enrolled, {counts['skipped']} skipped"
    )
    for name, why in report.skipped.items():
        click.echo(f"skipped {name}: {why}")


def _report(file: Path, plan: Plan, dry_run: bool, as_json: bool, removed_word: str) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {"file": str(file), "dry_run": dry_run, **plan.counts(), "notes": plan.notes},
                ensure_ascii=False,
            )
        )
        return
    verb = "would import" if dry_run else "imported"
    click.echo(f"{file}: {verb} {plan.kind}: {plan.summary(removed_word)}")
    for note in plan.notes:
        click.echo(f"note: {note}")
    if dry_run:
        for line in plan.details():
            click.echo(line)
        click.echo("dry run: nothing was written")


COMMANDS = (sites, roster)
