"""Reconciliation of a session: per site, who was expected, how many came, who did not.

Estimates are recomputed from the samples every time, so a report always agrees with the samples
it cites. Only a writer's action stores them (`stored_by` names who, for the audit log): a read
shows what it computed and writes nothing, whoever reads. Identified people come from
identification (consenting, enrolled roster entries only); where it ran, the absent are named,
elsewhere they are a count. An organizer's correction (results/corrections.py) replaces the
figure that counts as present; the estimate stays beside it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from attendance.config import Settings
from attendance.results.estimate import Figures, Window, estimate
from attendance.results.presence import presence
from attendance.store import audit_log
from attendance.store.audit_log import canonical_json
from attendance.store.corrections import latest_corrections
from attendance.store.estimates import save_estimates
from attendance.store.models import ConferenceSession
from attendance.store.roster import enrolled_people, roster_of
from attendance.store.samples import session_samples
from attendance.store.sites import roster_counts, sites_of

AUDITED_SITES = 100  # an estimates event names this many changed sites, digests them all


@dataclass
class SiteResult:
    code: str
    name: str
    province: str
    registered: int
    exempt: int
    expected: int
    estimated_raw: float | None
    factor: float
    calibrated: float | None  # estimated_raw × factor
    corrected: float | None  # the latest correction's value
    present: int | None  # the corrected figure if any, else the calibrated estimate; rounded
    identified: int
    unregistered: int
    absent: int | None
    rate: float | None
    status: str  # ok, under, over, no_data, feed_problem
    quality: str
    coverage: float
    peak: int | None
    reasons: list[str] = field(default_factory=list)
    absent_named: list[str] | None = None  # person codes, where identification ran
    evidence: list[int] = field(default_factory=list)  # sample ids behind the figure
    correction_reason: str | None = None
    corrected_by: str | None = None
    remembered_share: float | None = None  # of the figure's counts, from seat memory

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def reconcile_session(
    db: Session,
    conference_session: ConferenceSession,
    settings: Settings,
    now: datetime,
    codes: list[str] | None = None,
    *,
    stored_by: str | None = None,
) -> list[SiteResult]:
    """Every enabled site's result for the session (or those of `codes`). With `stored_by` (the
    audit actor of a writer's action) the estimates are stored too, and a change audited."""
    sites = [site for site in sites_of(db, codes) if site["enabled"]]
    site_ids = None if codes is None else [site["id"] for site in sites]
    by_id = {s["id"]: s for s in sites}
    figures, rows = _estimates(db, conference_session, settings, now, by_id, site_ids)
    if stored_by is not None:
        _store(db, conference_session.id, rows, stored_by)
    roster = roster_counts(db, site_ids)
    enrolled = enrolled_people(db, site_ids)
    seen = presence(db, conference_session.id, site_ids)
    identified: dict[int, set[int]] = {}
    entry_site = {}
    if seen.people:
        entry_site = {row["id"]: row["site_id"] for row in roster_of(db, site_ids)}
    for entry_id in seen.people:
        if entry_id in entry_site:
            identified.setdefault(entry_site[entry_id], set()).add(entry_id)
    absent_codes = _absent_codes(db, enrolled, identified)
    corrections = latest_corrections(db, conference_session.id, site_ids)
    return [
        _result(
            site,
            figures.get(site["id"]),
            roster.get(site["id"], (0, 0)),
            len(identified.get(site["id"], ())),
            seen.strangers.get(site["id"], 0),
            absent_codes.get(site["id"]),
            corrections.get(site["id"]),
            settings,
        )
        for site in sites
    ]


def _estimates(db, conference_session, settings, now, sites, site_ids) -> tuple[dict, list]:
    """Figures by site id, and the estimate rows they would be stored as."""
    until = min(now, conference_session.ends_at)
    figures, rows = {}, []
    for site_id, samples in session_samples(db, conference_session.id, site_ids):
        site = sites.get(site_id)
        if site is None:
            continue
        cadence = site["cadence_s"] or conference_session.cadence_s or 30
        window = Window(conference_session.starts_at, conference_session.ends_at, cadence)
        found = figures[site_id] = estimate(samples, window, settings.estimate, until)
        rows.append(
            {
                "site_id": site_id,
                "session_id": conference_session.id,
                "raw": found.raw,
                "calibrated": found.calibrated(site["calibration_factor"]),
                "peak": found.peak,
                "median": found.median,
                "mean": found.mean,
                "coverage": found.coverage,
                "quality": _quality(found, site["calibration_factor"]),
                "computed_at": now,
            }
        )
    return figures, rows


def _store(db: Session, session_id: int, rows: list[dict], actor: str) -> None:
    changed = save_estimates(db, session_id, rows)
    if changed:
        _audit_estimates(db, session_id, changed, actor)


def _quality(found: Figures, factor: float) -> dict[str, Any]:
    """The stored estimate's flag and what stands behind it. `remembered_share` only where
    samples recorded it, so estimates of older samples are stored as they were."""
    quality = {
        "flag": found.quality,
        "reasons": found.reasons,
        "evidence": found.evidence,
        "samples": found.samples,
        "factor": factor,
    }
    if found.remembered_share is not None:
        quality["remembered_share"] = found.remembered_share
    return quality


def _audit_estimates(db: Session, session_id: int, changed: list[dict], actor: str) -> None:
    """One event per recomputation that changed figures: which sites (up to a hundred named)
    and a digest of every changed figure, so stored estimates can be checked against it."""
    figures = [
        [row["site_id"], row["raw"], row["calibrated"], row["quality"]["flag"]] for row in changed
    ]
    payload = {
        "session": session_id,
        "changed": len(figures),
        "digest": hashlib.sha256(canonical_json(figures).encode()).hexdigest(),
        "sites": figures[:AUDITED_SITES],
    }
    audit_log.record(
        db,
        "estimates.change",
        payload,
        actor=actor,
        entity="session",
        entity_id=str(session_id),
    )


def _absent_codes(db, enrolled, identified) -> dict[int, list[str]]:
    """Enrolled, non-exempt people not identified, by site: only where identification ran."""
    if not enrolled:
        return {}
    absent: dict[int, list[str]] = {}
    for row in roster_of(db, list(enrolled)):
        site_id, entry = row["site_id"], row["id"]
        seen = entry in identified.get(site_id, ())
        if entry in enrolled[site_id] and not row["exempt"] and not seen:
            absent.setdefault(site_id, []).append(row["person_code"])
    return {site_id: absent.get(site_id, []) for site_id in enrolled}


def _result(
    site, found, roster, identified, strangers, absent_named, correction, settings
) -> SiteResult:
    registered, exempt = roster
    expected = registered - exempt
    factor = site["calibration_factor"]
    calibrated = found.calibrated(factor) if found else None
    corrected = correction["value"] if correction else None
    figure = calibrated if corrected is None else corrected
    present = None if figure is None else round(figure)
    rate = None if present is None or not expected else round(present / expected, 3)
    status = _status(found, present, expected, rate, settings, corrected is not None)
    return SiteResult(
        code=site["code"],
        name=site["name"],
        province=site["province"],
        registered=registered,
        exempt=exempt,
        expected=expected,
        estimated_raw=found.raw if found else None,
        factor=factor,
        calibrated=calibrated,
        corrected=corrected,
        present=present,
        identified=identified,
        unregistered=strangers,
        absent=None if present is None else max(0, expected - present),
        rate=rate,
        status=status,
        quality=found.quality if found else "no_data",
        coverage=found.coverage if found else 0.0,
        peak=found.peak if found else None,
        reasons=found.reasons if found else ["no sample in this session"],
        remembered_share=found.remembered_share if found else None,
        absent_named=absent_named,
        evidence=found.evidence if found else [],
        correction_reason=correction["reason"] if correction else None,
        corrected_by=correction["corrected_by"] if correction else None,
    )


def _status(
    found: Figures | None, present, expected, rate, settings: Settings, corrected: bool
) -> str:
    """A corrected figure is judged on its own: the correction is what replaces a feed that
    failed or a count that cannot be trusted."""
    if not corrected:
        if found is None or (found.samples == 0):
            return "no_data"
        if found.coverage < settings.reconcile.feed_problem_coverage:
            return "feed_problem"
        if present is None:
            return "no_data"
    if not expected:
        return "over" if present else "ok"
    if rate < settings.reconcile.under:
        return "under"
    if rate > settings.reconcile.over:
        return "over"
    return "ok"
