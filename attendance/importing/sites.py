"""Import of the site list: upsert by site code, with the province → district → commune tree.

Sites missing from the file are left alone, or disabled with `prune` (never deleted: their
samples are evidence).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session, aliased

from attendance import audit
from attendance.importing import fields
from attendance.importing.columns import SITES
from attendance.importing.report import ImportRejected, Plan, RowError, diff
from attendance.importing.rows import RowCheck, unique_key
from attendance.importing.table import Table, file_sha256, read_table
from attendance.store.db import transaction
from attendance.store.models import Region, RegionLevel, Site
from attendance.store.types import utcnow
from attendance.text import nfc

PATH_SEPARATOR = " › "


@dataclass(frozen=True)
class SiteRow:
    name: str
    province: str
    district: str | None
    commune: str | None
    capacity: int | None
    stream_url: str | None
    timezone: str

    def region_paths(self) -> list[tuple[RegionLevel, str, str]]:
        """(level, name, path) from the province down to the most specific region given."""
        names = [self.province, self.district, self.commune]
        levels = list(RegionLevel)
        return [
            (levels[depth], names[depth], PATH_SEPARATOR.join(names[: depth + 1]))
            for depth in range(3)
            if names[depth]
        ]

    def compared(self) -> dict:
        return {
            "name": self.name,
            "region": self.region_paths()[-1][2],
            "capacity": self.capacity,
            "stream_url": self.stream_url,
            "timezone": self.timezone,
            "enabled": True,
        }


def parse_sites(table: Table, default_timezone: str) -> dict[str, SiteRow]:
    """Validate every row; raise ImportRejected listing every problem, or return rows by code."""
    errors: list[RowError] = []
    rows: dict[str, SiteRow] = {}
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        check = RowCheck(table, number, cells, errors)
        code = check.get("site_code", fields.code)
        row = SiteRow(
            name=check.get("site_name", fields.text, required=True),
            province=check.get("province", fields.text, required=True, max_length=200),
            district=check.get("district", fields.text, max_length=200),
            commune=check.get("commune", fields.text, max_length=200),
            capacity=check.get("capacity", fields.count),
            stream_url=check.get("stream_url", fields.stream_url),
            timezone=check.get("timezone", fields.timezone, default_timezone),
        )
        if row.commune and not row.district:
            check.fail("commune", "a commune needs its district in the district column")
        if unique_key(check, "site_code", code, seen) and check.ok:
            rows[code] = row
    if errors:
        raise ImportRejected(table.path, errors)
    return rows


def existing_sites(session: Session) -> dict[str, dict]:
    region = aliased(Region)
    query = select(
        Site.id,
        Site.code,
        Site.name,
        region.path.label("region"),
        Site.capacity,
        Site.stream_url,
        Site.timezone,
        Site.enabled,
    ).join(region, Site.region_id == region.id)
    return {row["code"]: dict(row) for row in session.execute(query).mappings()}


def plan_sites(session: Session, rows: dict[str, SiteRow], prune: bool) -> Plan:
    existing = existing_sites(session)
    incoming = {code: row.compared() for code, row in rows.items()}
    added, changed, unchanged = diff(existing, incoming)
    plan = Plan("sites", added=added, changed=changed, unchanged=unchanged)
    missing = [code for code, old in existing.items() if code not in rows and old["enabled"]]
    if prune:
        plan.removed = missing
    elif missing:
        plan.notes.append(
            f"{len(missing)} enabled site(s) are not in the file and stay as they are "
            "(use --prune to disable them)"
        )
    return plan


def import_sites(
    engine: Engine,
    path: Path,
    *,
    default_timezone: str,
    dry_run: bool = False,
    prune: bool = False,
    sheet: str | None = None,
    actor: str | None = None,
) -> Plan:
    """Validate the whole file, then apply it in one transaction (or only plan it)."""
    table = read_table(path, SITES, sheet)
    rows = parse_sites(table, default_timezone)
    with transaction(engine) as session:
        plan = plan_sites(session, rows, prune)
        if table.ignored:
            plan.notes.append(f"ignored columns: {', '.join(table.ignored)}")
        if dry_run:
            session.rollback()
            return plan
        _apply(session, rows, plan)
        audit.record(
            session,
            "sites.import",
            {"file": path.name, "sha256": file_sha256(path), "rows": len(rows), **plan.counts()},
            actor=actor,
        )
    return plan


def _apply(session: Session, rows: dict[str, SiteRow], plan: Plan) -> None:
    region_ids = ensure_regions(session, rows.values())
    now = utcnow()

    def values(code: str) -> dict:
        row = rows[code]
        paths = row.region_paths()
        data = asdict(row)
        for key in ("province", "district", "commune"):
            del data[key]
        return {
            **data,
            "code": code,
            "province_id": region_ids[paths[0][2]],
            "region_id": region_ids[paths[-1][2]],
            "enabled": True,
            "updated_at": now,
        }

    if plan.added:
        session.execute(insert(Site), [{**values(code), "created_at": now} for code in plan.added])
    ids = dict(session.execute(select(Site.code, Site.id)).all())
    if plan.changed:
        session.execute(update(Site), [{**values(code), "id": ids[code]} for code in plan.changed])
    if plan.removed:
        session.execute(
            update(Site),
            [{"id": ids[code], "enabled": False, "updated_at": now} for code in plan.removed],
        )


def ensure_regions(session: Session, rows) -> dict[str, int]:
    """Create the regions the rows name that do not exist yet; return every path's id."""
    ids = dict(session.execute(select(Region.path, Region.id)).all())
    needed: dict[str, tuple[RegionLevel, str, str | None]] = {}
    for row in rows:
        parent = None
        for level, name, path in row.region_paths():
            needed.setdefault(path, (level, nfc(name), parent))
            parent = path
    for level in RegionLevel:  # parents first, so children can refer to them
        new = [
            Region(level=level, name=name, path=path, parent_id=ids.get(parent or ""))
            for path, (row_level, name, parent) in needed.items()
            if row_level == level and path not in ids
        ]
        session.add_all(new)
        session.flush()
        ids.update({region.path: region.id for region in new})
    return ids
