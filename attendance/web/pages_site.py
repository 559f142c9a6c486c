"""What the site page shows, gathered in one transaction: the site, a session's samples as a
chart, the latest face boxes (on the blurred evidence image when one is kept), the
reconciliation with the roster, identified people, headcounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from attendance.audit.evidence import latest_image
from attendance.config import Settings
from attendance.results.presence import presence
from attendance.results.reconcile import SiteResult, reconcile_session
from attendance.store.headcounts import headcounts_of
from attendance.store.models import ConferenceSession
from attendance.store.roster import roster_of
from attendance.store.samples import latest_counted, site_samples
from attendance.store.sessions import find_session, recent_sessions, session_at
from attendance.store.sites import site_detail
from attendance.times import local
from attendance.users import Principal
from attendance.web.pages_chart import Chart, Faces, chart, faces

RECENT_HEADCOUNTS = 10


@dataclass
class SiteView:
    site: dict[str, Any]
    timezone: str
    sessions: list[dict[str, Any]]
    chosen: ConferenceSession | None = None
    current: bool = False  # the chosen session is running now: the chart grows live
    chart: Chart | None = None
    faces: Faces | None = None
    latest: dict[str, Any] | None = None  # the sample the faces come from
    evidence: str | None = None  # SHA-256 of the image of the latest count, if kept and not purged
    result: SiteResult | None = None
    people: list[dict[str, Any]] | None = None  # None: identification does not run here
    absent: list[dict[str, Any]] = field(default_factory=list)
    headcounts: list[dict[str, Any]] = field(default_factory=list)


def site_view(
    db: Session,
    code: str,
    principal: Principal,
    session_ref: str | None,
    settings: Settings,
    now: datetime,
) -> SiteView | None:
    """None when the site does not exist or the principal may not see it (both answer 404).
    An unknown `session_ref` raises RecordNotFound."""
    site = site_detail(db, code)
    if site is None or not principal.can_read(site["id"]):
        return None
    view = SiteView(site, site["timezone"] or settings.sites.timezone, recent_sessions(db, now))
    view.headcounts = _headcounts(db, site["id"], view.timezone)
    view.chosen = _chosen(db, session_ref, now, view.sessions)
    if view.chosen is not None:
        _fill_session(db, view, settings, now)
    return view


def _chosen(db: Session, ref: str | None, now: datetime, recent: list[dict]):
    """The session asked for, else the one running, else the latest that started."""
    if ref:
        return find_session(db, ref)
    running = session_at(db, now)
    if running is None and recent:
        running = recent[0]["id"]
    return None if running is None else find_session(db, str(running))


def _fill_session(db: Session, view: SiteView, settings: Settings, now: datetime) -> None:
    chosen, site_id = view.chosen, view.site["id"]
    view.current = chosen.starts_at <= now < chosen.ends_at
    view.result = _reconciled(db, chosen, settings, now, view.site["code"])
    expected = view.result.expected if view.result else 0
    samples = [
        (row["slot"], row["status"], row["face_count"])
        for row in site_samples(db, site_id, chosen.id)
    ]
    view.chart = chart(samples, chosen.starts_at, chosen.ends_at, expected, view.timezone)
    view.latest = latest_counted(db, site_id, chosen.id)
    if view.latest is not None:
        view.faces = faces(view.latest["boxes"], view.latest["detector"])
        view.latest["local"] = local(view.latest["slot"], view.timezone)
        view.evidence = latest_image(db, Path(settings.evidence.dir), site_id, chosen.id)
    if view.result is not None and view.result.absent_named is not None:
        _fill_people(db, view, settings)


def _reconciled(db, chosen, settings, now, code: str) -> SiteResult | None:
    """This site's row of the session's reconciliation (None for a disabled site)."""
    return next(
        (r for r in reconcile_session(db, chosen, settings, now, [code]) if r.code == code), None
    )


def _fill_people(db: Session, view: SiteView, settings: Settings) -> None:
    """Who identification saw, and the enrolled people it did not, by name."""
    site_id = view.site["id"]
    roster = {row["id"]: row for row in roster_of(db, [site_id])}
    seen = presence(
        db, view.chosen.id, [site_id], default_cadence_s=settings.sampling.cadence_s
    ).people
    view.people = sorted(
        (
            {
                **roster[entry_id],
                "first_seen": local(found.first_seen, view.timezone),
                "last_seen": local(found.last_seen, view.timezone),
                "minutes": round(found.minutes),
            }
            for entry_id, found in seen.items()
            if entry_id in roster
        ),
        key=lambda person: person["full_name"],
    )
    by_code = {row["person_code"]: row for row in roster.values()}
    view.absent = [by_code[code] for code in view.result.absent_named if code in by_code]


def _headcounts(db: Session, site_id: int, timezone: str) -> list[dict[str, Any]]:
    latest = headcounts_of(db, site_id)[-RECENT_HEADCOUNTS:]
    return [
        {
            "at": local(h.counted_at, timezone),
            "value": h.value,
            "by": h.counted_by,
            "note": h.note,
        }
        for h in reversed(latest)
    ]
