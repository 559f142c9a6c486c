"""A site's log for one session, as an auditor checks it: every sample in slot order with the
gaps between them and the moments its feed changed state, the reconciliation, the corrections
with who, when and why, the headcounts, and the audit chain the figures can be checked against.

The auditor's page and the printed PDF report show the same log, gathered in one transaction.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from attendance.audit.status import ChainStatus, chain_status
from attendance.config import Settings
from attendance.results.reconcile import SiteResult, reconcile_session
from attendance.store.corrections import corrections_of
from attendance.store.headcounts import headcounts_in
from attendance.store.models import COUNTED, ConferenceSession
from attendance.store.samples import site_samples


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: a sample, or a gap where slots have none."""

    at: datetime
    sample: dict[str, Any] | None = None
    changed: bool = False  # the feed's state differs from the sample before
    missing: int = 0  # for a gap: how many slots have no sample
    until: datetime | None = None  # for a gap: the next sample's slot, or the window's end

    @property
    def gap(self) -> bool:
        return self.sample is None


@dataclass
class SiteLog:
    site: dict[str, Any]
    session: ConferenceSession
    conference: str  # the session's conference code
    timezone: str
    cadence_s: int
    samples: list[dict[str, Any]]
    entries: list[Entry]
    result: SiteResult | None
    corrections: list[dict[str, Any]]
    headcounts: list[dict[str, Any]]
    chain: ChainStatus
    made_at: datetime
    counts: dict[str, int] = field(default_factory=dict)  # samples by status

    def local(self, at: datetime, pattern: str = "%H:%M:%S") -> str:
        return at.astimezone(ZoneInfo(self.timezone)).strftime(pattern)


def site_log(
    db: Session,
    site: dict[str, Any],
    conference_session: ConferenceSession,
    settings: Settings,
    now: datetime,
) -> SiteLog:
    """`site` as `store.sites.site_detail` reads it (id, code, timezone, cadence, …)."""
    cadence = site.get("cadence_s") or conference_session.cadence_s or settings.sampling.cadence_s
    samples = site_samples(db, site["id"], conference_session.id)
    results = reconcile_session(db, conference_session, settings, now, [site["code"]])
    return SiteLog(
        site=site,
        session=conference_session,
        conference=conference_session.conference.code,
        timezone=site["timezone"] or settings.sites.timezone,
        cadence_s=cadence,
        samples=samples,
        entries=timeline(samples, conference_session, cadence, now),
        result=next(iter(results), None),
        corrections=corrections_of(db, conference_session.id, [site["id"]])[0],
        headcounts=headcounts_in(db, [conference_session.id], site["id"]),
        chain=chain_status(db),
        made_at=now,
        counts=dict(Counter(sample["status"] for sample in samples)),
    )


def timeline(
    samples: list[dict[str, Any]], window: ConferenceSession, cadence_s: int, now: datetime
) -> list[Entry]:
    """Samples in slot order with a gap wherever slots went by without one: before the first,
    between two, and after the last up to the session's end (or now, leaving the slot still
    being sampled out)."""
    entries: list[Entry] = []
    since, state, step = window.starts_at, None, timedelta(seconds=cadence_s)
    for sample in samples:
        slots = (sample["slot"] - since) / step
        if state is None:
            _add_gap(entries, since, sample["slot"], int(slots))
        else:
            _add_gap(entries, since + step, sample["slot"], round(slots) - 1)
        now_state = _state(sample["status"])
        entries.append(Entry(sample["slot"], sample, state is not None and now_state != state))
        since, state = sample["slot"], now_state
    end = min(now, window.ends_at)
    slots = (end - since) / step
    if state is None:
        _add_gap(entries, since, end, int(slots))
    else:
        whole = math.ceil(slots) if now >= window.ends_at else int(slots)
        _add_gap(entries, since + step, end, whole - 1)
    return entries


def _add_gap(entries: list[Entry], start: datetime, until: datetime, missing: int) -> None:
    if missing > 0:
        entries.append(Entry(start, missing=missing, until=until))


def _state(status: str) -> str:
    """What the feed was doing: counting (fresh or gated), or failing in one particular way."""
    return "counted" if status in COUNTED else status
