"""Enrolled face encodings: what enrollment needs to know and writes, and the galleries workers
match against (active roster entries with consent only)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from attendance.store.db import transaction
from attendance.store.models import FaceEncoding, RosterEntry

CHUNK = 5000  # codes per IN (…) list, well under SQLite's parameter limit


@dataclass
class Enrollee:
    """A roster entry as enrollment sees it."""

    id: int
    active: bool
    consent: bool
    photos: set[str] = field(default_factory=set)  # SHA-256 of the photos already enrolled


def enrollees(session: Session, person_codes: Collection[str]) -> dict[str, Enrollee]:
    """The roster entries of these person codes (absent codes are unknown people)."""
    codes = sorted(person_codes)
    found: dict[str, Enrollee] = {}
    for start in range(0, len(codes), CHUNK):
        query = (
            select(
                RosterEntry.person_code,
                RosterEntry.id,
                RosterEntry.active,
                RosterEntry.consent_biometric,
                FaceEncoding.photo_sha256,
            )
            .outerjoin(FaceEncoding, FaceEncoding.roster_entry_id == RosterEntry.id)
            .where(RosterEntry.person_code.in_(codes[start : start + CHUNK]))
        )
        for code, entry_id, active, consent, sha256 in session.execute(query):
            enrollee = found.setdefault(code, Enrollee(entry_id, active, consent))
            if sha256 is not None:
                enrollee.photos.add(sha256)
    return found


def add_encodings(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Store rows of {roster_entry_id, encoding, photo_sha256} in the caller's transaction."""
    if rows:
        session.execute(insert(FaceEncoding), list(rows))


def site_galleries(engine: Engine, site_ids: Collection[int]) -> dict[int, list[tuple[int, bytes]]]:
    """Per site, (roster entry id, encoding) of its active entries that consented: one query."""
    query = (
        select(RosterEntry.site_id, RosterEntry.id, FaceEncoding.encoding)
        .join(FaceEncoding, FaceEncoding.roster_entry_id == RosterEntry.id)
        .where(RosterEntry.active, RosterEntry.consent_biometric, RosterEntry.site_id.in_(site_ids))
        .order_by(FaceEncoding.id)
    )
    galleries: dict[int, list[tuple[int, bytes]]] = {}
    with transaction(engine) as session:
        for site_id, entry_id, encoding in session.execute(query):
            galleries.setdefault(site_id, []).append((entry_id, encoding))
    return galleries
