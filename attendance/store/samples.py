"""Writing samples: one per site and slot, whoever writes it and however often."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from attendance.store import audit_log
from attendance.store.audit_queries import IDENTIFICATION_READ, SAMPLE_READ
from attendance.store.db import transaction
from attendance.store.models import ConferenceSession, Identification, Sample, Site

INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


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


def active_session(engine: Engine, at: datetime) -> ConferenceSession | None:
    """The session running at `at` (the earliest-starting if several overlap)."""
    with transaction(engine) as session:
        query = (
            select(ConferenceSession)
            .where(ConferenceSession.starts_at <= at, ConferenceSession.ends_at > at)
            .order_by(ConferenceSession.starts_at)
            .limit(1)
        )
        return session.scalar(query)


def next_session(engine: Engine, at: datetime) -> ConferenceSession | None:
    with transaction(engine) as session:
        query = (
            select(ConferenceSession)
            .where(ConferenceSession.starts_at > at)
            .order_by(ConferenceSession.starts_at)
            .limit(1)
        )
        return session.scalar(query)


def sampled_sites(engine: Engine) -> list[Site]:
    """Enabled sites, by code: the ones a worker must sample."""
    with transaction(engine) as session:
        return list(session.scalars(select(Site).where(Site.enabled).order_by(Site.code)))
