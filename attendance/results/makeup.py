"""The make-up list of a conference: who, per unit, has not attended any of its sessions.

A person counts as attended when identification saw them in some session. People identification
cannot see (no consent or no photo) are presumed present when their site's attendance was `ok`
(or `over`) in some session; otherwise they are listed too, with that as the basis, so an
organizer can check them by hand rather than have them silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from attendance.config import Settings
from attendance.results.presence import presence
from attendance.results.reconcile import reconcile_session
from attendance.store.models import Conference
from attendance.store.roster import enrolled_people, roster_of
from attendance.store.sessions import conference_sessions
from attendance.store.sites import sites_of

NOT_SEEN = "not seen in any session"
SITE_UNDER = "not identifiable; the site was under its roster in every session"
ATTENDED_STATUSES = {"ok", "over"}


@dataclass(frozen=True)
class MakeupRow:
    unit: str
    site_code: str
    site_name: str
    person_code: str
    full_name: str
    basis: str


@dataclass(frozen=True)
class Attended:
    person_code: str
    full_name: str
    site_code: str
    sessions: str  # codes of the sessions the person was seen in, comma-separated
    count: int


@dataclass
class Makeup:
    sessions: list[str]
    attended: list[Attended]  # everyone identification saw, with the sessions they came to
    rows: list[MakeupRow]


def makeup_list(db: Session, conference: Conference, settings: Settings, now: datetime) -> Makeup:
    sessions = conference_sessions(db, conference.id)
    seen_in: dict[int, list[str]] = {}
    site_attended: set[str] = set()
    for conference_session in sessions:
        for entry_id in presence(db, conference_session.id).people:
            seen_in.setdefault(entry_id, []).append(conference_session.code)
        for result in reconcile_session(db, conference_session, settings, now):
            if result.status in ATTENDED_STATUSES:
                site_attended.add(result.code)
    sites = {site["id"]: site for site in sites_of(db)}
    enrolled = {entry for people in enrolled_people(db).values() for entry in people}
    rows, attended = [], []
    for person in roster_of(db):
        site = sites[person["site_id"]]
        if person["id"] in seen_in:
            codes = seen_in[person["id"]]
            attended.append(
                Attended(
                    person["person_code"],
                    person["full_name"],
                    site["code"],
                    ", ".join(codes),
                    len(codes),
                )
            )
            continue
        if person["exempt"]:
            continue
        if person["id"] in enrolled:
            basis = NOT_SEEN
        elif site["code"] not in site_attended:
            basis = SITE_UNDER
        else:
            continue
        unit = person["unit"] or site["name"]
        rows.append(
            MakeupRow(
                unit, site["code"], site["name"], person["person_code"], person["full_name"], basis
            )
        )
    rows.sort(key=lambda row: (row.unit, row.site_code, row.person_code))
    return Makeup([s.code for s in sessions], attended, rows)
