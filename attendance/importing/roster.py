"""Import of rosters: upsert by person code; the file is authoritative for the sites it names.

A person of a named site who is no longer in the file is deactivated (not deleted: their past
identifications stay traceable). Sites the file does not mention keep their rosters, so a
province can import its own file without touching the rest of the country.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from attendance import audit
from attendance.importing import fields
from attendance.importing.columns import ROSTER
from attendance.importing.report import ImportRejected, Plan, RowError, diff
from attendance.importing.rows import RowCheck, unique_key
from attendance.importing.table import Table, file_sha256, read_table
from attendance.store.db import transaction
from attendance.store.models import RosterEntry, Site
from attendance.store.types import utcnow


@dataclass(frozen=True)
class RosterRow:
    site: str
    full_name: str
    unit: str | None
    role: str | None
    category: str | None
    exempt: bool
    exempt_reason: str | None
    consent_biometric: bool

    def compared(self) -> dict:
        return {**asdict(self), "active": True}


def parse_roster(table: Table, site_codes: set[str]) -> dict[str, RosterRow]:
    """Validate every row against the known sites; raise ImportRejected listing every problem."""
    errors: list[RowError] = []
    rows: dict[str, RosterRow] = {}
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        check = RowCheck(table, number, cells, errors)
        site = check.get("site_code", fields.code)
        if site is not None and site not in site_codes:
            check.fail("site_code", "unknown site code; import the sites file first")
        person = check.get("person_code", fields.code)
        row = RosterRow(
            site=site,
            full_name=check.get("full_name", fields.text, required=True, max_length=200),
            unit=check.get("unit", fields.text),
            role=check.get("role", fields.text, max_length=200),
            category=check.get("category", fields.text, max_length=200),
            exempt=check.get("exempt", fields.boolean),
            exempt_reason=check.get("exempt_reason", fields.text, max_length=500),
            consent_biometric=check.get("consent_biometric", fields.boolean),
        )
        if unique_key(check, "person_code", person, seen) and check.ok:
            rows[person] = row
    if errors:
        raise ImportRejected(table.path, errors)
    return rows


def existing_roster(session: Session) -> dict[str, dict]:
    query = select(
        RosterEntry.id,
        RosterEntry.person_code,
        Site.code.label("site"),
        RosterEntry.full_name,
        RosterEntry.unit,
        RosterEntry.role,
        RosterEntry.category,
        RosterEntry.exempt,
        RosterEntry.exempt_reason,
        RosterEntry.consent_biometric,
        RosterEntry.active,
    ).join(Site, RosterEntry.site_id == Site.id)
    return {row["person_code"]: dict(row) for row in session.execute(query).mappings()}


def plan_roster(existing: dict[str, dict], rows: dict[str, RosterRow]) -> Plan:
    incoming = {code: row.compared() for code, row in rows.items()}
    added, changed, unchanged = diff(existing, incoming)
    named_sites = {row.site for row in rows.values()}
    removed = [
        code
        for code, old in existing.items()
        if old["active"] and old["site"] in named_sites and code not in rows
    ]
    return Plan("roster", added=added, changed=changed, removed=removed, unchanged=unchanged)


def import_roster(
    engine: Engine,
    path: Path,
    *,
    dry_run: bool = False,
    sheet: str | None = None,
    actor: str | None = None,
) -> Plan:
    """Validate the whole file, then apply it in one transaction (or only plan it)."""
    table = read_table(path, ROSTER, sheet)
    with transaction(engine) as session:
        site_ids = dict(session.execute(select(Site.code, Site.id)).all())
        rows = parse_roster(table, set(site_ids))
        existing = existing_roster(session)
        plan = plan_roster(existing, rows)
        if table.ignored:
            plan.notes.append(f"ignored columns: {', '.join(table.ignored)}")
        if dry_run:
            session.rollback()
            return plan
        _apply(session, rows, plan, site_ids, existing)
        audit.record(
            session,
            "roster.import",
            {"file": path.name, "sha256": file_sha256(path), "rows": len(rows), **plan.counts()},
            actor=actor,
        )
    return plan


def _apply(
    session: Session,
    rows: dict[str, RosterRow],
    plan: Plan,
    site_ids: dict[str, int],
    existing: dict[str, dict],
) -> None:
    now = utcnow()

    def values(code: str) -> dict:
        data = asdict(rows[code])
        data["site_id"] = site_ids[data.pop("site")]
        return {**data, "person_code": code, "active": True, "updated_at": now}

    if plan.added:
        session.execute(
            insert(RosterEntry), [{**values(code), "created_at": now} for code in plan.added]
        )
    if plan.changed:
        session.execute(
            update(RosterEntry),
            [{**values(code), "id": existing[code]["id"]} for code in plan.changed],
        )
    if plan.removed:
        session.execute(
            update(RosterEntry),
            [
                {"id": existing[code]["id"], "active": False, "updated_at": now}
                for code in plan.removed
            ],
        )
