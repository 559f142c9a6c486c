"""Reading identifications: the stranger labels a session already uses (so a restarted worker
numbers on), and the matches and strangers presence is computed from."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session

from attendance.store.db import transaction
from attendance.store.models import Identification, Sample

MATCH = "match"


def last_stranger_labels(engine: Engine, session_id: int) -> dict[int, int]:
    """Per site, the highest stranger label stored in the session."""
    query = (
        select(Sample.site_id, func.max(Identification.stranger_label))
        .join(Sample, Identification.sample_id == Sample.id)
        .where(Sample.session_id == session_id, Identification.stranger_label.is_not(None))
        .group_by(Sample.site_id)
    )
    with transaction(engine) as session:
        return dict(session.execute(query).all())


def matches(
    session: Session, session_id: int, site_ids: Collection[int] | None
) -> list[tuple[int, datetime, int]]:
    """(site id, slot, roster entry id) of every face matched in the session."""
    query = (
        select(Sample.site_id, Sample.slot, Identification.roster_entry_id)
        .join(Sample, Identification.sample_id == Sample.id)
        .where(Sample.session_id == session_id, Identification.decision == MATCH)
    )
    return list(session.execute(_of_sites(query, site_ids)))


def stranger_counts(
    session: Session, session_id: int, site_ids: Collection[int] | None
) -> dict[int, int]:
    """Per site with identifications in the session, how many distinct strangers it saw."""
    query = (
        select(Sample.site_id, func.count(Identification.stranger_label.distinct()))
        .join(Sample, Identification.sample_id == Sample.id)
        .where(Sample.session_id == session_id)
        .group_by(Sample.site_id)
    )
    return dict(session.execute(_of_sites(query, site_ids)).all())


def _of_sites(query: Select, site_ids: Collection[int] | None) -> Select:
    return query if site_ids is None else query.where(Sample.site_id.in_(site_ids))
