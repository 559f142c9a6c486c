"""Sites and their regions: the one site select, roster sizes, the site lists and lookups, and
per-site settings that do not come from the sites file.

Search folds Vietnamese diacritics, which neither database does portably, so site filters run
over the light site list in Python; the heavy columns (roster sizes) are read for one page only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, Select, Subquery, case, func, select, update
from sqlalchemy.orm import Session, aliased

from attendance.config import mask_url
from attendance.errors import RecordNotFound
from attendance.store import audit_log
from attendance.store.db import transaction
from attendance.store.models import ConferenceSession, Region, RosterEntry, Site
from attendance.store.paging import Page, dicts
from attendance.text import fold

STREAM_SCHEMES = {"rtsp", "rtsps", "http", "https", "file"}


class StreamUrlError(ValueError):
    """A stream URL no worker could sample; the message says why, in words for the organizer."""


def stream_url(value: str) -> str | None:
    """A site's stream URL as it may be stored: None for none, else the value itself. The
    importer and the workers both hold URLs to this rule; it checks the form only (whether the
    camera answers is the grab's job)."""
    if not value:
        return None
    parts = urlsplit(value)
    if re.search(r"\s", value) or parts.scheme not in STREAM_SCHEMES:
        schemes = ", ".join(f"{scheme}://" for scheme in sorted(STREAM_SCHEMES))
        raise StreamUrlError(f"expected a stream URL starting with {schemes}")
    if parts.scheme == "file" and not parts.path:
        raise StreamUrlError("a file:// URL needs a path, e.g. file:///videos/site.mp4")
    if parts.scheme != "file" and not parts.hostname:
        raise StreamUrlError(
            f"a {parts.scheme}:// URL needs a host, e.g. {parts.scheme}://10.0.0.5/"
        )
    return value


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


def site_exists(session: Session, code: str) -> bool:
    return session.scalar(select(Site.id).where(Site.code == code)) is not None


def roster_counts(
    session: Session, site_ids: Sequence[int] | None = None
) -> dict[int, tuple[int, int]]:
    """Site id → (registered, exempt) among active roster entries (of some sites, or all)."""
    sizes = roster_sizes(site_ids)
    query = select(sizes.c.site_id, sizes.c.registered, sizes.c.exempt)
    return {
        site_id: (registered, int(exempt or 0))
        for site_id, registered, exempt in session.execute(query)
    }


def site_by_code(session: Session, code: str) -> Site:
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise RecordNotFound(f"no site with code {code!r}; see `attendance sites list`")
    return site


def sites_of(session: Session, codes: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every site (or those named) with what reports show of it, by code."""
    columns = (
        Site.id,
        Site.code,
        Site.name,
        Site.capacity,
        Site.cadence_s,
        Site.calibration_factor,
        Site.enabled,
    )
    query = site_select(*columns, region=False).order_by(Site.code)
    if codes is not None:
        query = query.where(Site.code.in_(codes))
    return [dict(row._mapping) for row in session.execute(query)]


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


def sites_page(session: Session, wanted: SiteFilter, page: Page) -> tuple[list[dict], int]:
    """Sites by code with their region and roster sizes, and how many match in all."""
    province = aliased(Region)
    light = select(Site.id, Site.code, Site.name, province.name.label("province"), Site.enabled)
    light = light.join(province, Site.province_id == province.id).order_by(Site.code)
    matching = [row for row in dicts(session, light) if wanted.keeps(row)]
    ids = [row["id"] for row in page.of(matching)]
    return site_details(session, ids), len(matching)


# A site's own fields as the API and the site page show them.
SITE_FIELDS = (
    Site.code,
    Site.name,
    Site.capacity,
    Site.timezone,
    Site.cadence_s,
    Site.calibration_factor,
    Site.enabled,
)


def site_details(session: Session, ids: Collection[int]) -> list[dict[str, Any]]:
    """The given sites, by code, as the API shows them."""
    if not ids:
        return []
    query = site_select(*SITE_FIELDS, roster=roster_sizes(ids)).where(Site.id.in_(ids))
    query = query.order_by(Site.code)
    rows = dicts(session, query)
    for row in rows:
        row["exempt"] = int(row["exempt"])
        row["expected"] = row["registered"] - row["exempt"]
    return rows


def site_codes(session: Session, ids: Collection[int]) -> frozenset[str]:
    return frozenset(session.scalars(select(Site.code).where(Site.id.in_(ids))))


def site_detail(session: Session, code: str) -> dict[str, Any] | None:
    """The site's own fields and its regions, or None for an unknown code."""
    query = site_select(Site.id, *SITE_FIELDS).where(Site.code == code)
    row = session.execute(query).first()
    return None if row is None else dict(row._mapping)


def enabled_sites(session: Session, visible: frozenset[int] | None) -> list[dict[str, Any]]:
    """Enabled sites (the reconciled ones) the reader may see, by code."""
    query = site_select(Site.id, Site.code, Site.name, region=False)
    query = query.where(Site.enabled).order_by(Site.code)
    rows = [dict(row) for row in session.execute(query).mappings()]
    return [row for row in rows if visible is None or row["id"] in visible]


def sampled_sites(engine: Engine) -> list[Site]:
    """Enabled sites, by code: the ones a worker must sample."""
    with transaction(engine) as session:
        return list(session.scalars(select(Site).where(Site.enabled).order_by(Site.code)))


def cadences(session: Session, session_id: int, site_ids: Collection[int]) -> dict[int, int | None]:
    """Each site's cadence in the session: its own, else the session's (None: the default)."""
    of_session = (
        select(ConferenceSession.cadence_s)
        .where(ConferenceSession.id == session_id)
        .scalar_subquery()
    )
    query = select(Site.id, func.coalesce(Site.cadence_s, of_session)).where(Site.id.in_(site_ids))
    return dict(session.execute(query).all())


def set_roi(
    engine: Engine, code: str, roi: dict[str, Any] | None, actor: str | None = None
) -> None:
    """Store a site's ROI (validated `Roi.to_json()` form) and audit the change."""
    with transaction(engine) as session:
        # A new ROI usually means the camera was moved or re-aimed: relearn its perspective.
        session.execute(update(Site).where(Site.code == code).values(roi=roi, perspective=None))
        audit_log.record(
            session,
            "site.roi",
            {"site": code, "roi": roi},
            actor=actor,
            entity="site",
            entity_id=code,
        )


def save_perspectives(engine: Engine, learned: dict[int, dict[str, Any]]) -> None:
    """Store what workers learned of their cameras (site id → `Site.perspective`)."""
    with transaction(engine) as session:
        for site_id, perspective in learned.items():
            session.execute(update(Site).where(Site.id == site_id).values(perspective=perspective))
