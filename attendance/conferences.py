"""Conferences (campaigns) and their sessions (the time windows during which sites are sampled)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance.errors import BadInput, RecordNotFound
from attendance.store import audit_log
from attendance.store.models import Conference, ConferenceSession


def create_conference(
    session: Session, code: str, name: str, description: str | None = None
) -> Conference:
    if session.scalar(select(Conference.id).where(Conference.code == code)) is not None:
        raise BadInput(f"conference {code!r} already exists")
    conference = Conference(code=code, name=name, description=description)
    session.add(conference)
    session.flush()
    audit_log.record(
        session,
        "conference.create",
        {"code": code, "name": name},
        entity="conference",
        entity_id=str(conference.id),
    )
    return conference


def get_conference(session: Session, code: str) -> Conference:
    conference = session.scalar(select(Conference).where(Conference.code == code))
    if conference is None:
        raise RecordNotFound(f"no conference with code {code!r}; see `attendance conference list`")
    return conference


def create_session(
    session: Session,
    conference_code: str,
    code: str,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    cadence_s: int | None = None,
) -> ConferenceSession:
    conference = get_conference(session, conference_code)
    if ends_at <= starts_at:
        raise BadInput(f"session {code!r}: the end must come after the start")
    if cadence_s is not None and not 5 <= cadence_s <= 3600:
        raise BadInput(f"session {code!r}: cadence must be 5 to 3600 seconds, got {cadence_s}")
    clash = session.scalar(
        select(ConferenceSession.id).where(
            ConferenceSession.conference_id == conference.id, ConferenceSession.code == code
        )
    )
    if clash is not None:
        raise BadInput(f"conference {conference_code!r} already has a session {code!r}")
    created = ConferenceSession(
        conference=conference,
        code=code,
        name=name,
        starts_at=starts_at,
        ends_at=ends_at,
        cadence_s=cadence_s,
    )
    session.add(created)
    session.flush()
    audit_log.record(
        session,
        "session.create",
        {
            "conference": conference_code,
            "code": code,
            "name": name,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "cadence_s": cadence_s,
        },
        entity="session",
        entity_id=str(created.id),
    )
    return created
