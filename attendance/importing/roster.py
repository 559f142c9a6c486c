"""Import of rosters: upsert by person code; the file is authoritative for the sites it names.

A person of a named site who is no longer in the file is deactivated (not deleted: their past
identifications stay traceable). Sites the file does not mention keep their rosters, so a
province can import its own file without touching the rest of the country.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from attendance.config import ImportSettings
from attendance.importing import fields as parse
from attendance.importing.columns import ROSTER
from attendance.importing.report import (
    ImportRejected,
    Plan,
    batches,
    diff,
    record_import,
    row_errors,
    stored_by_code,
)
from attendance.importing.rows import RowCheck, unique_key
from attendance.importing.table import Table, read_table
from attendance.store.db import transaction
from attendance.store.models import RosterEntry, Site
from attendance.store.types import utcnow


class RosterRow(NamedTuple):
    site: str
    full_name: str
    unit: str | None
    role: str | None
    category: str | None
    exempt: bool
    exempt_reason: str | None
    consent_biometric: bool


COMPARED = (*RosterRow._fields, "active")


def _shared(value: str | None) -> str | None:
    """Site codes, units and roles repeat thousands of times: keep one copy of each."""
    return None if value is None else sys.intern(value)


def parse_roster(table: Table, site_codes: set[str]) -> dict[str, RosterRow]:
    """Validate every row against the known sites; raise ImportRejected listing every problem."""
    errors = row_errors()
    rows: dict[str, RosterRow] = {}
    seen: dict[str, int] = {}
    by_casefold = {code.casefold(): code for code in site_codes}
    for number, cells in table.rows:
        check = RowCheck(table, number, cells, errors)
        site = check.get("site_code", parse.code)
        if site is not None and site not in site_codes:
            check.fail("site_code", _unknown_site(site, by_casefold))
        person = check.get("person_code", parse.code)
        row = RosterRow(
            site=_shared(site),
            full_name=check.get("full_name", parse.text, required=True, max_length=200),
            unit=_shared(check.get("unit", parse.text)),
            role=_shared(check.get("role", parse.text, max_length=200)),
            category=_shared(check.get("category", parse.text, max_length=200)),
            exempt=check.get("exempt", parse.boolean),
            exempt_reason=check.get("exempt_reason", parse.text, max_length=500),
            consent_biometric=check.get("consent_biometric", parse.boolean),
        )
        if unique_key(check, "person_code", person, seen) and check.ok:
            rows[person] = row
    if errors:
        raise ImportRejected(table.path, errors)
    return rows


def _unknown_site(code: str, by_casefold: dict[str, str]) -> str:
    similar = by_casefold.get(code.casefold())
    hint = f"did you mean {similar!r}?" if similar else "import the sites file first"
    return f"unknown site code; {hint}"


def existing_roster(session: Session) -> tuple[dict[str, tuple], dict[str, int]]:
    """Every stored entry as a tuple of COMPARED fields, and its id, by person code."""
    query = select(
        RosterEntry.id,
        RosterEntry.person_code,
        Site.code,
        *(getattr(RosterEntry, name) for name in COMPARED[1:]),
    ).join(Site, RosterEntry.site_id == Site.id)
    return stored_by_code(session.execute(query))


def plan_roster(existing: dict[str, tuple], rows: dict[str, RosterRow]) -> Plan:
    incoming = {code: (*row, True) for code, row in rows.items()}
    added, changed, unchanged = diff(existing, incoming, COMPARED)
    named_sites = {row.site for row in rows.values()}
    removed = [
        code
        for code, (site, *_, active) in existing.items()
        if active and site in named_sites and code not in rows
    ]
    return Plan("roster", added=added, changed=changed, removed=removed, unchanged=unchanged)


def import_roster(
    engine: Engine,
    path: Path,
    *,
    dry_run: bool = False,
    sheet: str | None = None,
    actor: str | None = None,
    limits: ImportSettings | None = None,
) -> Plan:
    """Validate the whole file, then apply it in one transaction (or only plan it)."""
    table = read_table(path, ROSTER, sheet, limits)
    with transaction(engine) as session:
        site_ids = dict(session.execute(select(Site.code, Site.id)).all())
        rows = parse_roster(table, set(site_ids))
        existing, ids = existing_roster(session)
        plan = plan_roster(existing, rows)
        del existing
        plan.note_ignored(table.ignored)
        plan.note_formulas(table.formulas)
        if dry_run:
            session.rollback()
            return plan
        _apply(session, rows, plan, site_ids, ids)
        record_import(session, plan, path, len(rows), actor)
    return plan


def _apply(
    session: Session,
    rows: dict[str, RosterRow],
    plan: Plan,
    site_ids: dict[str, int],
    ids: dict[str, int],
) -> None:
    now = utcnow()

    def values(code: str) -> dict:
        data = rows[code]._asdict()
        data["site_id"] = site_ids[data.pop("site")]
        return {**data, "person_code": code, "active": True, "updated_at": now}

    for chunk in batches(plan.added):
        new = [{**values(code), "created_at": now} for code in chunk]
        session.execute(RosterEntry.__table__.insert(), new)
    for chunk in batches(plan.changed):
        session.execute(update(RosterEntry), [{**values(code), "id": ids[code]} for code in chunk])
    for chunk in batches(plan.removed):
        session.execute(
            update(RosterEntry),
            [{"id": ids[code], "active": False, "updated_at": now} for code in chunk],
        )
