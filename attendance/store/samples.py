"""Writing samples: one per site and slot, whoever writes it and however often."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite

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
    Identification rows, stored with new samples only. Returns how many samples were new."""
    if not rows:
        return 0
    new_samples = INSERT[engine.dialect.name](Sample).on_conflict_do_nothing(
        index_elements=["site_id", "slot"]
    )
    returning = new_samples.returning(Sample.id, Sample.site_id, Sample.slot)
    with transaction(engine) as session:
        stored = session.execute(returning, list(rows)).all()
        identified = [
            {**face, "sample_id": sample_id}
            for sample_id, site_id, slot in stored
            for face in (faces or {}).get((site_id, slot), ())
        ]
        if identified:
            session.execute(insert(Identification), identified)
        return len(stored)


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
