"""The reads behind the REST API: one page at a time, within what the caller may see.

Search folds Vietnamese diacritics, which neither database does portably, so site filters run
over the light site list in Python; the heavy columns (roster sizes) are read for one page only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from attendance.errors import RecordNotFound
from attendance.store.models import (
    ConferenceSession,
    Headcount,
    Region,
    RosterEntry,
    Sample,
    Site,
)
from attendance.store.queries import roster_sizes, sessions_select, site_select
from attendance.store.results import estimates_query
from attendance.text import fold


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int

    def of(self, items: Sequence[Any]) -> list[Any]:
        return list(items[self.offset : self.offset + self.limit])


@dataclass(frozen=True)
class SiteFilter:
    """What a site list asks for; None means any."""

    visible: frozenset[int] | None = None
    province: str | None = None
    q: str | None = None
    status: str | None = None
    status_of: Callable[[dict[str, Any]], str] | None = None  # of a row with code and enabled

    def keeps(self, row: dict[str, Any]) -> bool:
        return (
            (self.visible is None or row["id"] in self.visible)
            and (self.status is None or self.status_of(row) == self.status)
            and (not self.province or fold(row["province"]) == fold(self.province))
            and (not self.q or fold(self.q) in f"{fold(row['code'])} {fold(row['name'])}")
        )


def readable_site(session: Session, code: str, can_read: Callable[[int], bool]) -> Site:
    """The site by code; one the caller may not see is as unknown as one that does not exist."""
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None or not can_read(site.id):
        raise RecordNotFound(f"no site with code {code!r}")
    return site


def conference_session(session: Session, session_id: int) -> ConferenceSession:
    found = session.get(ConferenceSession, session_id)
    if found is None:
        raise RecordNotFound(f"no session with id {session_id}")
    return found


def sites_page(session: Session, wanted: SiteFilter, page: Page) -> tuple[list[dict], int]:
    """Sites by code with their region and roster sizes, and how many match in all."""
    province = aliased(Region)
    light = select(Site.id, Site.code, Site.name, province.name.label("province"), Site.enabled)
    light = light.join(province, Site.province_id == province.id).order_by(Site.code)
    matching = [row for row in _dicts(session, light) if wanted.keeps(row)]
    ids = [row["id"] for row in page.of(matching)]
    return site_details(session, ids), len(matching)


def site_details(session: Session, ids: Collection[int]) -> list[dict[str, Any]]:
    """The given sites, by code, as the API shows them."""
    if not ids:
        return []
    columns = (
        Site.code,
        Site.name,
        Site.capacity,
        Site.timezone,
        Site.cadence_s,
        Site.calibration_factor,
        Site.enabled,
    )
    query = site_select(*columns, roster=roster_sizes(ids)).where(Site.id.in_(ids))
    query = query.order_by(Site.code)
    rows = _dicts(session, query)
    for row in rows:
        row["exempt"] = int(row["exempt"])
        row["expected"] = row["registered"] - row["exempt"]
    return rows


def latest_sample(session: Session, site_id: int) -> dict[str, Any] | None:
    query = _samples(site_id).order_by(Sample.slot.desc()).limit(1)
    return next(iter(_sample_rows(session, query)), None)


def samples_page(
    session: Session, site_id: int, page: Page, session_id: int | None = None
) -> tuple[list[dict], int]:
    """The site's samples, newest slot first (of one conference session if given)."""
    query = _samples(site_id)
    if session_id is not None:
        query = query.where(Sample.session_id == session_id)
    items = _sample_rows(session, _paged(query.order_by(Sample.slot.desc()), page))
    return items, _total(session, query)


def _samples(site_id: int) -> Select:
    return select(
        Sample.id,
        Sample.session_id,
        Sample.slot,
        Sample.captured_at,
        Sample.status,
        Sample.face_count,
        Sample.remembered,
        Sample.detector,
        Sample.error,
    ).where(Sample.site_id == site_id)


def _sample_rows(session: Session, query: Select) -> list[dict[str, Any]]:
    rows = _dicts(session, query)
    for row in rows:
        row["mode"] = (row.pop("detector") or {}).get("mode")
    return rows


def sessions_page(session: Session, page: Page) -> tuple[list[dict], int]:
    query = sessions_select().order_by(ConferenceSession.starts_at.desc(), ConferenceSession.id)
    return _dicts(session, _paged(query, page)), _total(session, query)


def session_row(session: Session, session_id: int) -> dict[str, Any]:
    conference_session(session, session_id)
    return _dicts(session, sessions_select().where(ConferenceSession.id == session_id))[0]


def estimates_page(
    session: Session, session_id: int, visible: frozenset[int] | None, page: Page
) -> tuple[list[dict], int]:
    """The session's stored estimates by site code, of the sites the caller may see."""
    query = estimates_query(session_id)
    if visible is not None:
        query = query.where(Site.id.in_(visible))
    rows = _dicts(session, _paged(query.order_by(Site.code), page))
    for row in rows:
        quality = row.pop("quality") or {}
        row["quality"] = quality.get("flag")
        for key in ("reasons", "evidence", "factor", "remembered_share"):
            row[key] = quality.get(key)
    return rows, _total(session, query)


def site_codes(session: Session, ids: Collection[int]) -> frozenset[str]:
    return frozenset(session.scalars(select(Site.code).where(Site.id.in_(ids))))


def roster_page(session: Session, site_id: int, page: Page) -> tuple[list[dict], int]:
    """The site's active roster entries by person code."""
    query = select(
        RosterEntry.person_code,
        RosterEntry.full_name,
        RosterEntry.unit,
        RosterEntry.exempt,
        RosterEntry.exempt_reason,
        RosterEntry.consent_biometric,
    ).where(RosterEntry.site_id == site_id, RosterEntry.active)
    ordered = query.order_by(RosterEntry.person_code)
    return _dicts(session, _paged(ordered, page)), _total(session, query)


def headcounts_page(session: Session, site_id: int, page: Page) -> tuple[list[dict], int]:
    """The site's manual headcounts, latest first."""
    query = _headcounts().where(Headcount.site_id == site_id)
    ordered = query.order_by(Headcount.counted_at.desc(), Headcount.id.desc())
    return _dicts(session, _paged(ordered, page)), _total(session, query)


def headcount_recorded(session: Session, site_id: int, by: str, at: datetime) -> dict[str, Any]:
    """The headcount just recorded in this transaction (the domain call does not return it)."""
    query = _headcounts().where(
        Headcount.site_id == site_id, Headcount.counted_by == by, Headcount.counted_at == at
    )
    return _dicts(session, query.order_by(Headcount.id.desc()).limit(1))[0]


def _headcounts() -> Select:
    return select(
        Headcount.id,
        Headcount.session_id,
        Headcount.counted_at,
        Headcount.value.label("count"),
        Headcount.counted_by,
        Headcount.note,
        Headcount.created_at,
    )


def _paged(query: Select, page: Page) -> Select:
    return query.limit(page.limit).offset(page.offset)


def _total(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _dicts(session: Session, query: Select) -> list[dict[str, Any]]:
    return [dict(row) for row in session.execute(query).mappings()]
