"""Conferences and their sessions: finding one, the session lists, the session running at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session

from attendance.errors import BadInput, RecordNotFound
from attendance.store.db import transaction
from attendance.store.models import Conference, ConferenceSession
from attendance.store.paging import Page, dicts, paged, total
from attendance.store.types import LARGEST_ID

SESSION_CHOICES = 20


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


def conference_session(session: Session, session_id: int) -> ConferenceSession:
    found = session.get(ConferenceSession, session_id)
    if found is None:
        raise RecordNotFound(f"no session with id {session_id}")
    return found


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
    """Sessions by start (of one conference if given), without their ids: the CLI names a
    session by conference and code."""
    query = sessions_select().order_by(ConferenceSession.starts_at, ConferenceSession.code)
    if conference is not None:
        query = query.where(Conference.code == conference)
    return [{k: v for k, v in row.items() if k != "id"} for row in dicts(session, query)]


def _latest_first() -> Select:
    """Sessions with their conference's code, latest first (on a tie, the later created)."""
    return sessions_select().order_by(
        ConferenceSession.starts_at.desc(), ConferenceSession.id.desc()
    )


def sessions_page(session: Session, page: Page) -> tuple[list[dict], int]:
    query = _latest_first()
    return dicts(session, paged(query, page)), total(session, query)


def session_row(session: Session, session_id: int) -> dict[str, Any]:
    conference_session(session, session_id)
    return dicts(session, sessions_select().where(ConferenceSession.id == session_id))[0]


def all_sessions(session: Session) -> list[dict[str, Any]]:
    """Every session with its conference's code, latest first: the choices of a filter."""
    return dicts(session, _latest_first())


def recent_sessions(session: Session, now: datetime) -> list[dict[str, Any]]:
    """The latest sessions that have started, newest first: the choices on a site page."""
    query = _latest_first().where(ConferenceSession.starts_at <= now).limit(SESSION_CHOICES)
    return dicts(session, query)


def conference_sessions(session: Session, conference_id: int) -> list[ConferenceSession]:
    """The conference's sessions by start (on a tie, by id)."""
    return list(
        session.scalars(
            select(ConferenceSession)
            .where(ConferenceSession.conference_id == conference_id)
            .order_by(ConferenceSession.starts_at, ConferenceSession.id)
        )
    )


def _running_at(at: datetime, *columns: Any) -> Select:
    """The session running at `at` (the earliest-starting if several overlap)."""
    return (
        select(*(columns or (ConferenceSession,)))
        .where(ConferenceSession.starts_at <= at, ConferenceSession.ends_at > at)
        .order_by(ConferenceSession.starts_at)
        .limit(1)
    )


def session_at(session: Session, at: datetime) -> int | None:
    """The id of the session running at `at`, if any."""
    return session.scalar(_running_at(at, ConferenceSession.id))


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


def active_session(engine: Engine, at: datetime) -> ConferenceSession | None:
    """The session running at `at` (the earliest-starting if several overlap)."""
    with transaction(engine) as session:
        return session.scalar(_running_at(at))


def next_session(engine: Engine, at: datetime) -> ConferenceSession | None:
    with transaction(engine) as session:
        query = (
            select(ConferenceSession)
            .where(ConferenceSession.starts_at > at)
            .order_by(ConferenceSession.starts_at)
            .limit(1)
        )
        return session.scalar(query)
