"""`attendance headcount`, `correct`, `reconcile`, `report site` and `makeup`: what came of the
samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from attendance.audit.site_log import SiteLog, site_log
from attendance.audit.site_log_pdf import site_report_pdf
from attendance.cli.common import emit, open_engine, with_settings
from attendance.conferences import get_conference
from attendance.config import Settings
from attendance.errors import BadInput
from attendance.results import headcounts
from attendance.results.corrections import correct as record_correction
from attendance.results.makeup import makeup_list
from attendance.results.presence import presence
from attendance.results.reconcile import reconcile_session
from attendance.results.spreadsheets import (
    RECONCILE_COLUMNS,
    makeup_sheets,
    reconcile_rows,
    write_csv,
    write_xlsx,
)
from attendance.store.audit_log import local_actor
from attendance.store.corrections import corrections_of
from attendance.store.db import transaction
from attendance.store.headcounts import headcounts_of
from attendance.store.roster import roster_of
from attendance.store.sessions import find_session, latest_session, session_at
from attendance.store.sites import site_by_code, site_detail
from attendance.times import local, parse_time

PERCENT = {"rate", "coverage"}
SUMMARY_COLUMNS = (
    "code",
    "province",
    "expected",
    "present",
    "identified",
    "rate",
    "status",
    "quality",
)


@click.command("headcount")
@click.option("--site", "code", required=True, metavar="CODE")
@click.option("--count", "value", required=True, type=int, help="People counted in the room.")
@click.option("--at", "at", default="now", metavar="TIME", help="When (default: now).")
@click.option("--by", required=True, metavar="NAME", help="Who counted.")
@click.option("--note", help="Free text, e.g. 'counted at the break'.")
@with_settings
def headcount(code: str, value: int, at: str, by: str, note: str | None, settings: Settings):
    """Record a manual headcount; it calibrates the site's estimates."""
    counted_at = parse_time(at, settings.sites.timezone)
    with transaction(open_engine(settings)) as db:
        running = session_at(db, counted_at)
        done = headcounts.record_headcount(db, code, value, counted_at, by, note, running)
    click.echo(f"headcount {done.value} at {code} stored; {done.note}")


@click.command("correct")
@click.option("--site", "code", required=True, metavar="CODE")
@click.option("--session", "ref", required=True, metavar="ID", help="Id, CONF/CODE or code.")
@click.option("--value", required=True, type=float, help="The site's figure: people present.")
@click.option("--reason", required=True, help="Why the estimate is wrong, e.g. 'camera covered'.")
@click.option("--by", required=True, metavar="NAME", help="Who corrects.")
@with_settings
def correct(code: str, ref: str, value: float, reason: str, by: str, settings: Settings) -> None:
    """Set a site's figure for a session; the estimate is kept beside it, the change audited."""
    with transaction(open_engine(settings)) as db:
        conference_session = find_session(db, ref)
        done = record_correction(
            db, conference_session, code, value, reason, by, settings, datetime.now(UTC)
        )
    click.echo(
        f"correction of {code} in {ref}: estimate {_figure(done['original_value'])} → "
        f"{done['value']:g}, by {done['corrected_by']}: {done['reason']}"
    )


@click.command("reconcile")
@click.option("--session", "ref", required=True, metavar="ID", help="Id, CONF/CODE or code.")
@click.option("--json", "as_json", is_flag=True, help="Print every site as JSON.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False, path_type=Path))
@with_settings
def reconcile(ref: str, as_json: bool, csv_path, xlsx_path, settings: Settings) -> None:
    """Estimates and roster reconciliation of every site for a session."""
    with transaction(open_engine(settings)) as db:
        conference_session = find_session(db, ref)
        now = datetime.now(UTC)
        results = reconcile_session(db, conference_session, settings, now, stored_by=local_actor())
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=1))
    if csv_path:
        write_csv(csv_path, list(RECONCILE_COLUMNS.values()), reconcile_rows(results))
    if xlsx_path:
        sheet = (list(RECONCILE_COLUMNS.values()), reconcile_rows(results))
        write_xlsx(xlsx_path, {"Đối chiếu": sheet})
    if not as_json:
        _summary(results, csv_path or xlsx_path)


@click.group("report")
def report() -> None:
    """Reports on one site."""


@report.command("site")
@click.argument("code")
@click.option("--session", "ref", metavar="ID", help="Default: the latest session that started.")
@click.option(
    "--pdf",
    "pdf_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the printable report (chart, reconciliation, corrections, audit chain head).",
)
@with_settings
def report_site(code: str, ref: str | None, pdf_path: Path | None, settings: Settings) -> None:
    """A site's figures for a session: estimate, roster, identified people, headcounts."""
    zone = settings.sites.timezone
    with transaction(open_engine(settings)) as db:
        site = site_by_code(db, code)
        conference_session = find_session(db, ref) if ref else latest_session(db, datetime.now(UTC))
        log = _site_log(db, code, conference_session, settings) if pdf_path else None
        results = reconcile_session(db, conference_session, settings, datetime.now(UTC), [code])
        result = next((r for r in results if r.code == code), None)
        if result is None:
            raise BadInput(f"site {code} is disabled: it is not reconciled")
        seen = presence(db, conference_session.id, [site.id])
        people = {row["id"]: row for row in roster_of(db, [site.id])}
        counts = headcounts_of(db, site.id)
        corrections = corrections_of(db, conference_session.id, [site.id])[0]
    click.echo(
        f"{site.code} {site.name} — session {conference_session.code} "
        f"({local(conference_session.starts_at, zone)})"
    )
    for key in (
        "status",
        "registered",
        "exempt",
        "expected",
        "present",
        "estimated_raw",
        "factor",
        "calibrated",
        "corrected",
        "rate",
        "peak",
        "coverage",
        "quality",
        "identified",
        "unregistered",
        "absent",
    ):
        click.echo(f"  {key:>14}: {_plain(key, getattr(result, key))}")
    for reason in result.reasons:
        click.echo(f"  {'reason':>14}: {reason}")
    click.echo(f"  {'evidence':>14}: samples {', '.join(map(str, result.evidence)) or '—'}")
    if result.absent_named:
        click.echo(f"  {'absent':>14}: {', '.join(result.absent_named)}")
    rows = [
        {
            "person": people[entry]["person_code"],
            "name": people[entry]["full_name"],
            "first_seen": local(p.first_seen, zone),
            "last_seen": local(p.last_seen, zone),
            "minutes": p.minutes,
        }
        for entry, p in seen.people.items()
        if entry in people
    ]
    if rows:
        click.echo("identified:")
        emit(rows, False, ("person", "name", "first_seen", "last_seen", "minutes"))
    for count in counts:
        click.echo(
            f"headcount {count.value} at {local(count.counted_at, zone)} "
            f"by {count.counted_by}" + (f" ({count.note})" if count.note else "")
        )
    for done in reversed(corrections):
        click.echo(
            f"correction {_figure(done['original_value'])} → {done['value']:g} at "
            f"{local(done['created_at'], zone)} by {done['corrected_by']}: {done['reason']}"
        )
    if log is not None:
        pdf_path.write_bytes(site_report_pdf(log))
        click.echo(f"report written to {pdf_path}")


def _site_log(db, code: str, conference_session, settings: Settings) -> SiteLog:
    return site_log(db, site_detail(db, code), conference_session, settings, datetime.now(UTC))


@click.command("makeup")
@click.option("--conference", "conference_code", required=True, metavar="CODE")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@with_settings
def makeup(conference_code: str, xlsx_path, as_json: bool, settings: Settings) -> None:
    """Who must attend a make-up session: per unit, everyone not seen in any session."""
    with transaction(open_engine(settings)) as db:
        conference = get_conference(db, conference_code)
        found = makeup_list(db, conference, settings, datetime.now(UTC))
    if xlsx_path:
        write_xlsx(xlsx_path, makeup_sheets(found))
    if as_json:
        click.echo(json.dumps([vars(row) for row in found.rows], ensure_ascii=False, indent=1))
    else:
        units = len({row.unit for row in found.rows})
        click.echo(
            f"{conference_code}: {len(found.rows)} people in {units} units need a make-up "
            f"session (sessions: {', '.join(found.sessions)})"
        )


def _summary(results, written: Path | None) -> None:
    statuses: dict[str, int] = {}
    for result in results:
        statuses[result.status] = statuses.get(result.status, 0) + 1
    expected = sum(r.expected for r in results)
    present = sum(r.present or 0 for r in results)
    click.echo(
        f"{len(results)} sites: " + ", ".join(f"{v} {k}" for k, v in sorted(statuses.items()))
    )
    click.echo(f"present {present} of {expected} expected")
    problems = [r.as_dict() for r in results if r.status != "ok"]
    if problems and not written:
        emit(problems[:50], False, SUMMARY_COLUMNS)


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _plain(key: str, value) -> str:
    if value is None:
        return "—"
    return f"{value:.0%}" if key in PERCENT else str(value)


COMMANDS = (headcount, correct, reconcile, report, makeup)
