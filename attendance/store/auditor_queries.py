"""The reads behind the auditor's pages, the site PDF report and the signed export bundle."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from attendance.store.models import (
    AuditEvent,
    ConferenceSession,
    Headcount,
    Sample,
    Site,
)
from attendance.store.queries import sessions_select, site_select
from attendance.store.results import estimates_query

BATCH = 5000


def chain_head(session: Session) -> tuple[str | None, int]:
    """The hash of the newest audit event and how many events the chain holds."""
    head = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return head, session.scalar(select(func.count()).select_from(AuditEvent))


def all_sessions(session: Session) -> list[dict[str, Any]]:
    """Every session with its conference's code, latest first: the choices of a filter."""
    query = sessions_select().order_by(
        ConferenceSession.starts_at.desc(), ConferenceSession.id.desc()
    )
    return [dict(row) for row in session.execute(query).mappings()]


def enabled_sites(session: Session, visible: frozenset[int] | None) -> list[dict[str, Any]]:
    """Enabled sites (the reconciled ones) the reader may see, by code."""
    query = site_select(Site.id, Site.code, Site.name, region=False)
    query = query.where(Site.enabled).order_by(Site.code)
    rows = [dict(row) for row in session.execute(query).mappings()]
    return [row for row in rows if visible is None or row["id"] in visible]


def log_samples(session: Session, site_id: int, session_id: int) -> list[dict[str, Any]]:
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


def bundle_sessions(session: Session, conference_id: int) -> list[dict[str, Any]]:
    """The conference's sessions as the bundle writes them: plain rows, by start."""
    query = (
        select(
            ConferenceSession.id,
            ConferenceSession.code,
            ConferenceSession.name,
            ConferenceSession.starts_at,
            ConferenceSession.ends_at,
            ConferenceSession.cadence_s,
        )
        .where(ConferenceSession.conference_id == conference_id)
        .order_by(ConferenceSession.starts_at, ConferenceSession.id)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def estimates_of(session: Session, session_id: int) -> list[dict[str, Any]]:
    """The session's stored estimates, by site code."""
    query = estimates_query(session_id).order_by(Site.code)
    return [dict(row) for row in session.execute(query).mappings()]


def headcounts_in(
    session: Session, session_ids: Collection[int], site_id: int | None = None
) -> list[dict[str, Any]]:
    """Headcounts recorded during the sessions (by their time or their session), by time."""
    windows = select(ConferenceSession.starts_at, ConferenceSession.ends_at).where(
        ConferenceSession.id.in_(session_ids)
    )
    during = [
        Headcount.counted_at.between(start, end) for start, end in session.execute(windows).all()
    ]
    query = (
        select(
            Headcount.id,
            Site.code.label("site"),
            Headcount.session_id,
            Headcount.counted_at,
            Headcount.value,
            Headcount.counted_by,
            Headcount.note,
        )
        .join(Site, Site.id == Headcount.site_id)
        .where(or_(Headcount.session_id.in_(session_ids), *during))
        .order_by(Headcount.counted_at, Headcount.id)
    )
    if site_id is not None:
        query = query.where(Headcount.site_id == site_id)
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


def events_about(
    session: Session, entities: Collection[str], batches: tuple[str, datetime, datetime] | None
) -> Iterator[dict[str, Any]]:
    """Audit events about records of the given kinds, and the sample batch events (action,
    first, last) written in a time span, in chain order: candidates for the caller to pick."""
    wanted = AuditEvent.entity.in_(list(entities))
    if batches is not None:
        action, first, last = batches
        wanted = or_(wanted, (AuditEvent.action == action) & AuditEvent.at.between(first, last))
    query = (
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.entity,
            AuditEvent.entity_id,
            AuditEvent.payload,
            AuditEvent.prev_hash,
            AuditEvent.hash,
        )
        .where(wanted)
        .order_by(AuditEvent.id)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query).mappings():
        yield dict(row)
