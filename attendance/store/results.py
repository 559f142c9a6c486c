"""The SQL behind estimates, headcounts and reconciliation: bulk reads by site, bulk writes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, delete, insert, select, update
from sqlalchemy.orm import Session

from attendance.errors import BadInput, RecordNotFound
from attendance.store.models import (
    COUNTED,
    Conference,
    ConferenceSession,
    Estimate,
    FaceEncoding,
    Headcount,
    RosterEntry,
    Sample,
    Site,
)
from attendance.store.queries import roster_sizes, site_select

BATCH = 5000
ESTIMATE_FIGURES = ("raw", "calibrated", "peak", "median", "mean", "coverage", "quality")


@dataclass(frozen=True)
class SampleFigure:
    """The part of a sample the estimate needs."""

    sample_id: int
    slot: datetime
    status: str
    count: int | None
    faces_too_small: bool = False
    remembered: int | None = None  # of `count`, seats remembered (None: not recorded)


LARGEST_ID = 2**31 - 1  # an INTEGER key, on PostgreSQL as on SQLite's side of our API


def find_session(session: Session, ref: str) -> ConferenceSession:
    """A session by id, `CONFERENCE/CODE`, or its code when only one conference has it."""
    query = select(ConferenceSession).join(Conference)
    if ref.isascii() and ref.isdigit():
        number = int(ref)  # beyond a key's range no session has it (and the driver would fail)
        where = ConferenceSession.id == number
        found = session.scalars(query.where(where)).all() if number <= LARGEST_ID else []
    elif "/" in ref:
        conference, code = ref.split("/", 1)
        found = session.scalars(
            query.where(Conference.code == conference, ConferenceSession.code == code)
        ).all()
    else:
        found = session.scalars(query.where(ConferenceSession.code == ref)).all()
    if not found:
        raise RecordNotFound(f"no session {ref!r}; see `attendance session list`")
    if len(found) > 1:
        names = ", ".join(f"{s.conference.code}/{s.code}" for s in found)
        raise BadInput(f"session code {ref!r} is ambiguous: say which of {names}")
    return found[0]


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


def session_samples(
    session: Session, session_id: int, site_ids: Sequence[int] | None = None
) -> Iterator[tuple[int, list[SampleFigure]]]:
    """(site id, its samples in slot order) for every site sampled in the session, streamed."""
    small = Sample.detector["flags"].as_string().like("%faces_too_small%")
    query = (
        select(
            Sample.site_id,
            Sample.id,
            Sample.slot,
            Sample.status,
            Sample.face_count,
            case((small, True), else_=False),
            Sample.remembered,
        )
        .where(Sample.session_id == session_id)
        .order_by(Sample.site_id, Sample.slot)
        .execution_options(yield_per=BATCH)
    )
    if site_ids is not None:
        query = query.where(Sample.site_id.in_(site_ids))
    current, figures = None, []
    for site_id, *fields in session.execute(query):
        if site_id != current:
            if current is not None:
                yield current, figures
            current, figures = site_id, []
        figures.append(SampleFigure(*fields))
    if current is not None:
        yield current, figures


def estimates_query(session_id: int) -> Select:
    """The session's stored estimates with their site's code (as `site`)."""
    return (
        select(
            Site.code.label("site"),
            *(getattr(Estimate, name) for name in ESTIMATE_FIGURES),
            Estimate.computed_at,
        )
        .join(Site, Site.id == Estimate.site_id)
        .where(Estimate.session_id == session_id)
    )


def save_estimates(
    session: Session, session_id: int, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Replace the session's estimates that changed (recomputed, never edited); returns the rows
    that did, so the change can be audited."""
    fields = [getattr(Estimate, name) for name in ESTIMATE_FIGURES]
    site_ids = [row["site_id"] for row in rows]
    stored = {}
    for start in range(0, len(site_ids), BATCH):
        chunk = site_ids[start : start + BATCH]
        query = select(Estimate.site_id, *fields).where(
            Estimate.session_id == session_id, Estimate.site_id.in_(chunk)
        )
        stored |= {site_id: tuple(values) for site_id, *values in session.execute(query)}
    changed = [
        row
        for row in rows
        if stored.get(row["site_id"]) != tuple(row[name] for name in ESTIMATE_FIGURES)
    ]
    changed_ids = [row["site_id"] for row in changed]
    for start in range(0, len(changed), BATCH):
        chunk = changed_ids[start : start + BATCH]
        session.execute(
            delete(Estimate).where(Estimate.session_id == session_id, Estimate.site_id.in_(chunk))
        )
        session.execute(insert(Estimate), changed[start : start + BATCH])
    return changed


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


def enrolled_people(session: Session, site_ids: Sequence[int] | None = None) -> dict[int, set[int]]:
    """Site id → roster entries that identification can recognise (consent and a photo)."""
    query = (
        select(RosterEntry.site_id, RosterEntry.id)
        .where(
            RosterEntry.active,
            RosterEntry.consent_biometric,
            RosterEntry.id.in_(select(FaceEncoding.roster_entry_id)),
        )
        .distinct()
    )
    if site_ids is not None:
        query = query.where(RosterEntry.site_id.in_(site_ids))
    enrolled: dict[int, set[int]] = {}
    for site_id, entry_id in session.execute(query):
        enrolled.setdefault(site_id, set()).add(entry_id)
    return enrolled


def roster_of(session: Session, site_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Active roster entries (optionally of some sites), by site and person code."""
    query = (
        select(
            RosterEntry.id,
            RosterEntry.site_id,
            RosterEntry.person_code,
            RosterEntry.full_name,
            RosterEntry.unit,
            RosterEntry.exempt,
            RosterEntry.exempt_reason,
        )
        .where(RosterEntry.active)
        .order_by(RosterEntry.site_id, RosterEntry.person_code)
    )
    if site_ids is not None:
        query = query.where(RosterEntry.site_id.in_(site_ids))
    return [dict(row._mapping) for row in session.execute(query)]


def counts_near(session: Session, site_id: int, at: datetime, seconds: float) -> list[int]:
    """The site's counts (ok or gated samples) captured within `seconds` of `at`."""
    query = select(Sample.face_count).where(
        Sample.site_id == site_id,
        Sample.status.in_(COUNTED),
        Sample.face_count.is_not(None),
        Sample.slot.between(at - timedelta(seconds=seconds), at + timedelta(seconds=seconds)),
    )
    return list(session.scalars(query))


def add_headcount(session: Session, row: dict[str, Any], factor: float | None) -> Headcount:
    headcount = Headcount(**row)
    session.add(headcount)
    if factor is not None:
        session.execute(
            update(Site).where(Site.id == row["site_id"]).values(calibration_factor=factor)
        )
    session.flush()
    return headcount


def headcounts_of(session: Session, site_id: int) -> list[Headcount]:
    return list(
        session.scalars(
            select(Headcount).where(Headcount.site_id == site_id).order_by(Headcount.counted_at)
        )
    )


def conference_sessions(session: Session, conference_id: int) -> list[ConferenceSession]:
    return list(
        session.scalars(
            select(ConferenceSession)
            .where(ConferenceSession.conference_id == conference_id)
            .order_by(ConferenceSession.starts_at)
        )
    )


def session_at(session: Session, at: datetime) -> int | None:
    """The id of the session running at `at`, if any."""
    return session.scalar(
        select(ConferenceSession.id)
        .where(ConferenceSession.starts_at <= at, ConferenceSession.ends_at > at)
        .order_by(ConferenceSession.starts_at)
        .limit(1)
    )


def latest_session(session: Session, now: datetime) -> ConferenceSession:
    latest = session.scalar(
        select(ConferenceSession)
        .where(ConferenceSession.starts_at <= now)
        .order_by(ConferenceSession.starts_at.desc())
        .limit(1)
    )
    if latest is None:
        raise RecordNotFound("no session has started yet; name one with --session")
    return latest
