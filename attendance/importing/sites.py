"""Import of the site list: upsert by site code, with the province → district → commune tree.

Sites missing from the file are left alone, or disabled with `prune` (never deleted: their
samples are evidence).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, aliased

from attendance.config import ImportSettings
from attendance.importing import fields as parse
from attendance.importing.columns import SITES
from attendance.importing.report import (
    ImportRejected,
    Plan,
    diff,
    record_import,
    row_errors,
    stored_by_code,
)
from attendance.importing.rows import RowCheck, unique_key
from attendance.importing.table import Table, read_table
from attendance.store.db import transaction
from attendance.store.models import Region, RegionLevel, Site
from attendance.store.types import utcnow

PATH_SEPARATOR = " › "
COMPARED = ("name", "region", "capacity", "stream_url", "timezone", "enabled")


class SiteRow(NamedTuple):
    name: str
    province: str
    district: str | None
    commune: str | None
    capacity: int | None
    stream_url: str | None
    timezone: str

    def regions(self) -> list[tuple[RegionLevel, str, str]]:
        """(level, name, path) from the province down to the most specific region given."""
        names = (self.province, self.district, self.commune)
        return [
            (level, names[depth], PATH_SEPARATOR.join(names[: depth + 1]))
            for depth, level in enumerate(RegionLevel)
            if names[depth]
        ]

    def compared(self) -> tuple:
        region = self.regions()[-1][2]
        return (self.name, region, self.capacity, self.stream_url, self.timezone, True)


def parse_sites(table: Table, default_timezone: str) -> dict[str, SiteRow]:
    """Validate every row; raise ImportRejected listing every problem, or return rows by code."""
    errors = row_errors()
    rows: dict[str, SiteRow] = {}
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        check = RowCheck(table, number, cells, errors)
        code = check.get("site_code", parse.code)
        row = SiteRow(
            name=check.get("site_name", parse.text, required=True),
            province=check.get("province", parse.text, required=True, max_length=200),
            district=check.get("district", parse.text, max_length=200),
            commune=check.get("commune", parse.text, max_length=200),
            capacity=check.get("capacity", parse.count),
            stream_url=check.get("stream_url", parse.stream_url),
            timezone=check.get("timezone", parse.timezone, default_timezone),
        )
        if row.commune and not row.district:
            check.fail("commune", "a commune needs its district in the district column")
        if unique_key(check, "site_code", code, seen) and check.ok:
            rows[code] = row
    if errors:
        raise ImportRejected(table.path, errors)
    return rows


def existing_sites(session: Session) -> tuple[dict[str, tuple], dict[str, int]]:
    """Every stored site as a tuple of COMPARED fields, and its id, by code."""
    region = aliased(Region)
    query = select(
        Site.id,
        Site.code,
        Site.name,
        region.path,
        Site.capacity,
        Site.stream_url,
        Site.timezone,
        Site.enabled,
    ).join(region, Site.region_id == region.id)
    return stored_by_code(session.execute(query))


def plan_sites(existing: dict[str, tuple], rows: dict[str, SiteRow], prune: bool) -> Plan:
    incoming = {code: row.compared() for code, row in rows.items()}
    added, changed, unchanged = diff(existing, incoming, COMPARED)
    plan = Plan("sites", added=added, changed=changed, unchanged=unchanged)
    missing = [code for code, old in existing.items() if code not in rows and old[-1]]
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
    limits: ImportSettings | None = None,
) -> Plan:
    """Validate the whole file, then apply it in one transaction (or only plan it)."""
    table = read_table(path, SITES, sheet, limits)
    rows = parse_sites(table, default_timezone)
    with transaction(engine) as session:
        existing, ids = existing_sites(session)
        plan = plan_sites(existing, rows, prune)
        plan.note_ignored(table.ignored)
        plan.note_formulas(table.formulas)
        if dry_run:
            session.rollback()
            return plan
        _apply(session, rows, plan, ids)
        record_import(session, plan, path, len(rows), actor)
    return plan


def _apply(session: Session, rows: dict[str, SiteRow], plan: Plan, ids: dict[str, int]) -> None:
    region_ids = ensure_regions(session, rows.values())
    now = utcnow()

    def values(code: str) -> dict:
        row = rows[code]
        regions = row.regions()
        return {
            "code": code,
            "name": row.name,
            "province_id": region_ids[regions[0][2]],
            "region_id": region_ids[regions[-1][2]],
            "capacity": row.capacity,
            "stream_url": row.stream_url,
            "timezone": row.timezone,
            "enabled": True,
            "updated_at": now,
        }

    if plan.added:
        new = [{**values(code), "created_at": now} for code in plan.added]
        session.execute(Site.__table__.insert(), new)
    if plan.changed:
        session.execute(update(Site), [{**values(code), "id": ids[code]} for code in plan.changed])
        moved = [ids[code] for code, fields in plan.changed.items() if "stream_url" in fields]
        if moved:  # another camera: what workers learned of the old one does not apply
            session.execute(update(Site).where(Site.id.in_(moved)).values(perspective=None))
    if plan.removed:
        session.execute(
            update(Site),
            [{"id": ids[code], "enabled": False, "updated_at": now} for code in plan.removed],
        )


def ensure_regions(session: Session, rows: Iterable[SiteRow]) -> dict[str, int]:
    """Create the regions the rows name that do not exist yet; return every path's id."""
    ids = dict(session.execute(select(Region.path, Region.id)).all())
    needed: dict[str, tuple[RegionLevel, str, str | None]] = {}
    for row in rows:
        parent = None
        for level, name, path in row.regions():
            needed.setdefault(path, (level, name, parent))
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
