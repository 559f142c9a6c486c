"""Read-only listings for the CLI and, later, the API."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, Subquery, case, func, select
from sqlalchemy.orm import Session, aliased

from attendance.config import mask_url
from attendance.store.models import Conference, ConferenceSession, Region, RosterEntry, Site
from attendance.text import fold


def roster_sizes(site_ids: Collection[int] | None = None) -> Subquery:
    """Per site: `registered` and `exempt` among active roster entries (of some sites, or all)."""
    query = select(
        RosterEntry.site_id,
        func.count().label("registered"),
        func.sum(case((RosterEntry.exempt, 1), else_=0)).label("exempt"),
    ).where(RosterEntry.active)
    if site_ids is not None:
        query = query.where(RosterEntry.site_id.in_(site_ids))
    return query.group_by(RosterEntry.site_id).subquery()


def site_select(*columns: Any, roster: Subquery | None = None, region: bool = True) -> Select:
    """The select every list of sites starts from: `columns` of the site, its province's name
    (`province`), its region's path (`region`, unless not wanted) and, given `roster`
    (`roster_sizes(…)`), its `registered` and `exempt` counts (0 without a roster)."""
    province = aliased(Region)
    fields = [*columns, province.name.label("province")]
    query = select(*fields).join_from(Site, province, Site.province_id == province.id)
    if region:
        path = aliased(Region)
        query = query.add_columns(path.path.label("region")).join(path, Site.region_id == path.id)
    if roster is not None:
        query = query.add_columns(
            func.coalesce(roster.c.registered, 0).label("registered"),
            func.coalesce(roster.c.exempt, 0).label("exempt"),
        ).outerjoin(roster, roster.c.site_id == Site.id)
    return query


def list_sites(session: Session, province: str | None = None) -> list[dict[str, Any]]:
    """Sites with their regions and roster sizes, by code; `province` matches folded names."""
    columns = (Site.code, Site.name, Site.capacity, Site.timezone, Site.stream_url, Site.enabled)
    query = site_select(*columns, roster=roster_sizes()).order_by(Site.code)
    rows = [dict(row) for row in session.execute(query).mappings()]
    if province:
        rows = [row for row in rows if fold(row["province"]) == fold(province)]
    for row in rows:
        row["stream_url"] = mask_url(row["stream_url"])  # credentials stay in the database
    return rows


def list_roster(
    session: Session, site: str | None = None, include_inactive: bool = False
) -> list[dict[str, Any]]:
    query = (
        select(
            Site.code.label("site_code"),
            RosterEntry.person_code,
            RosterEntry.full_name,
            RosterEntry.unit,
            RosterEntry.role,
            RosterEntry.category,
            RosterEntry.exempt,
            RosterEntry.exempt_reason,
            RosterEntry.consent_biometric,
            RosterEntry.active,
        )
        .join(Site, RosterEntry.site_id == Site.id)
        .order_by(Site.code, RosterEntry.person_code)
    )
    if site is not None:
        query = query.where(Site.code == site)
    if not include_inactive:
        query = query.where(RosterEntry.active)
    return [dict(row) for row in session.execute(query).mappings()]


def site_exists(session: Session, code: str) -> bool:
    return session.scalar(select(Site.id).where(Site.code == code)) is not None


def list_conferences(session: Session) -> list[dict[str, Any]]:
    sessions = func.count(ConferenceSession.id).label("sessions")
    query = (
        select(Conference.code, Conference.name, Conference.description, sessions)
        .outerjoin(ConferenceSession)
        .group_by(Conference.id)
        .order_by(Conference.code)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def sessions_select() -> Select:
    """Sessions with their conference's code: the columns every session list shows."""
    return select(
        ConferenceSession.id,
        Conference.code.label("conference"),
        ConferenceSession.code,
        ConferenceSession.name,
        ConferenceSession.starts_at,
        ConferenceSession.ends_at,
        ConferenceSession.cadence_s,
    ).join(Conference)


def list_sessions(session: Session, conference: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(
            Conference.code.label("conference"),
            ConferenceSession.code,
            ConferenceSession.name,
            ConferenceSession.starts_at,
            ConferenceSession.ends_at,
            ConferenceSession.cadence_s,
        )
        .join(Conference)
        .order_by(ConferenceSession.starts_at, ConferenceSession.code)
    )
    if conference is not None:
        query = query.where(Conference.code == conference)
    return [dict(row) for row in session.execute(query).mappings()]
