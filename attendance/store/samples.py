"""Samples: writing them (one per site and slot, whoever writes it and however often) and the
reads of them: latest per site, per site and session, streamed for estimates and bundles."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, Select, and_, case, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from attendance.store import audit_log
from attendance.store.audit_log import IDENTIFICATION_READ, SAMPLE_READ
from attendance.store.db import transaction
from attendance.store.models import COUNTED, Identification, Sample, Site
from attendance.store.paging import Page, dicts, paged, total
from attendance.store.sites import roster_sizes, site_select

INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


BATCH = 5000


RECENT = timedelta(days=1)  # older samples say nothing about now


@dataclass(frozen=True)
class SampleFigure:
    """The part of a sample the estimate needs."""

    sample_id: int
    slot: datetime
    status: str
    count: int | None
    faces_too_small: bool = False
    remembered: int | None = None  # of `count`, seats remembered (None: not recorded)


def record_samples(
    engine: Engine,
    rows: Sequence[dict[str, Any]],
    faces: Mapping[tuple[int, datetime], Sequence[dict[str, Any]]] | None = None,
) -> int:
    """Insert sample rows in one transaction; a (site, slot) already stored is left as it is,
    so a re-delivered or re-run slot is harmless. `faces` maps a sample's (site id, slot) to its
    Identification rows, stored with new samples only. Returns how many samples were new.

    The new samples, with their identifications, are listed in one `samples.store` audit event
    of the same transaction, so a sample is provable from the moment it exists."""
    if not rows:
        return 0
    new_samples = INSERT[engine.dialect.name](Sample).on_conflict_do_nothing(
        index_elements=["site_id", "slot"]
    )
    returning = new_samples.returning(Sample.id, *SAMPLE_READ)
    with transaction(engine) as session:
        stored = session.execute(returning, list(rows)).all()
        if stored:
            identified = _store_faces(session, stored, faces or {})
            audit_log.record_sample_batch(session, stored, identified, _worker(rows))
        return len(stored)


def _store_faces(
    session: Session, stored: Sequence[Row], faces: Mapping[tuple[int, datetime], Sequence[dict]]
) -> dict[int, list[tuple]]:
    """Insert the faces of new samples; sample id → its identifications as stored."""
    rows = [
        {**face, "sample_id": sample.id}
        for sample in stored
        for face in faces.get((sample.site_id, sample.slot), ())
    ]
    identified: dict[int, list[tuple]] = defaultdict(list)
    if rows:
        returning = insert(Identification).returning(Identification.sample_id, *IDENTIFICATION_READ)
        for sample_id, *face in session.execute(returning, rows):
            identified[sample_id].append(tuple(face))
    return identified


def _worker(rows: Sequence[dict[str, Any]]) -> str | None:
    """The audit actor of a batch: the worker that sampled it (one writer per worker)."""
    worker = rows[0].get("worker_id")
    return f"worker:{worker}" if worker else None


def recorded_slots(engine: Engine, site_ids: Sequence[int], since: datetime) -> set[tuple]:
    """(site id, slot) pairs already stored since a time: what a restarted worker must skip."""
    with transaction(engine) as session:
        query = select(Sample.site_id, Sample.slot).where(
            Sample.slot >= since, Sample.site_id.in_(site_ids)
        )
        return {(site_id, slot) for site_id, slot in session.execute(query)}


def site_rows(session: Session, now: datetime | None = None) -> list[dict[str, Any]]:
    since = (now or datetime.now(UTC)) - RECENT
    latest = _latest(since, None)
    counted = _latest(since, COUNTED)
    last, last_counted = aliased(Sample), aliased(Sample)
    query = (
        site_select(Site.id, Site.code, Site.name, roster=roster_sizes(), region=False)
        .add_columns(
            last_counted.face_count.label("count"),
            last.status.label("last_status"),
            last.created_at.label("at"),
        )
        .outerjoin(latest, latest.c.site_id == Site.id)
        .outerjoin(last, and_(last.site_id == Site.id, last.slot == latest.c.slot))
        .outerjoin(counted, counted.c.site_id == Site.id)
        .outerjoin(
            last_counted, and_(last_counted.site_id == Site.id, last_counted.slot == counted.c.slot)
        )
        .where(Site.enabled)
        .order_by(Site.code)
    )
    rows = [dict(row._mapping) for row in session.execute(query)]
    for row in rows:
        row["expected"] = row.pop("registered") - row.pop("exempt")
    return rows


def _latest(since: datetime, statuses: tuple[str, ...] | None):
    query = select(Sample.site_id, func.max(Sample.slot).label("slot")).where(Sample.slot >= since)
    if statuses:
        query = query.where(Sample.status.in_(statuses))
    return query.group_by(Sample.site_id).subquery()


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
    items = _sample_rows(session, paged(query.order_by(Sample.slot.desc()), page))
    return items, total(session, query)


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
    rows = dicts(session, query)
    for row in rows:
        row["mode"] = (row.pop("detector") or {}).get("mode")
    return rows


def latest_counted(session: Session, site_id: int, session_id: int) -> dict[str, Any] | None:
    """The site's last counted sample of the session with its face boxes (gated samples carry
    the boxes of the count they reuse)."""
    query = (
        select(
            Sample.id, Sample.slot, Sample.status, Sample.face_count, Sample.boxes, Sample.detector
        )
        .where(
            Sample.site_id == site_id,
            Sample.session_id == session_id,
            Sample.status.in_(COUNTED),
        )
        .order_by(Sample.slot.desc())
        .limit(1)
    )
    row = session.execute(query).first()
    return None if row is None else dict(row._mapping)


def site_samples(session: Session, site_id: int, session_id: int) -> list[dict[str, Any]]:
    """Every sample of the site in the session, by slot, with what proves it."""
    query = (
        select(
            Sample.id,
            Sample.slot,
            Sample.captured_at,
            Sample.status,
            Sample.face_count,
            Sample.detector,
            Sample.error,
            Sample.frame_hash,
            Sample.evidence_sha256,
        )
        .where(Sample.site_id == site_id, Sample.session_id == session_id)
        .order_by(Sample.slot)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def bundle_samples(session: Session, session_ids: Collection[int]) -> Iterator[dict[str, Any]]:
    """The sessions' samples with their hashes, streamed: a conference has millions."""
    query = (
        select(
            Sample.id,
            Site.code.label("site"),
            Sample.session_id,
            Sample.slot,
            Sample.status,
            Sample.face_count.label("count"),
            Sample.frame_hash,
            Sample.evidence_sha256,
        )
        .join(Site, Site.id == Sample.site_id)
        .where(Sample.session_id.in_(session_ids))
        .order_by(Sample.session_id, Site.code, Sample.slot)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query).mappings():
        yield dict(row)


def stored_between(session: Session, session_ids: Collection[int]) -> tuple[Any, Any]:
    """When the sessions' samples were written: their batches' audit events fall in between."""
    query = select(func.min(Sample.created_at), func.max(Sample.created_at)).where(
        Sample.session_id.in_(session_ids)
    )
    return tuple(session.execute(query).one())


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


def counts_near(session: Session, site_id: int, at: datetime, seconds: float) -> list[int]:
    """The site's counts (ok or gated samples) captured within `seconds` of `at`."""
    query = select(Sample.face_count).where(
        Sample.site_id == site_id,
        Sample.status.in_(COUNTED),
        Sample.face_count.is_not(None),
        Sample.slot.between(at - timedelta(seconds=seconds), at + timedelta(seconds=seconds)),
    )
    return list(session.scalars(query))


def counted_samples(
    session: Session, session_id: int, site_ids: Collection[int]
) -> list[tuple[int, datetime, str]]:
    """(site id, slot, status) of the samples with a count (`ok`, or `gated` reusing the last
    one), by site and slot."""
    query = (
        select(Sample.site_id, Sample.slot, Sample.status)
        .where(
            Sample.session_id == session_id,
            Sample.status.in_(COUNTED),
            Sample.site_id.in_(site_ids),
        )
        .order_by(Sample.site_id, Sample.slot)
    )
    return list(session.execute(query))
