"""The auditor's pages (read-only; every signed-in role may open them, operators only for their
sites): the sites of a session with their reconciliation and corrections, a site's log with
the evidence behind every sample, and that log as a printable PDF.

The site table recomputes the reconciliation of one page of sites at a time, so its cost does
not grow with the number of sites. The audit chain's status line comes from
`attendance.audit.status`: its head and length on every view, a full verification (every
event and sample rehashed) when an admin or auditor asks with `?verify=1`, one at a time (409
while one runs).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session
from yarl import URL

from attendance.audit.site_log import SiteLog, site_log
from attendance.audit.site_log_pdf import site_report_pdf
from attendance.audit.status import (
    ChainStatus,
    VerificationRunning,
    chain_status,
    verified_status,
)
from attendance.config import Settings
from attendance.errors import BadInput, RecordNotFound
from attendance.results.reconcile import reconcile_session
from attendance.store.corrections import correction_counts
from attendance.store.sessions import all_sessions, conference_session
from attendance.store.sites import enabled_sites, site_detail
from attendance.text import fold
from attendance.users import Principal
from attendance.web.db import in_transaction
from attendance.web.keys import ENGINE, SETTINGS
from attendance.web.pages_render import not_found, page_site_code, render, signed_in

PAGE_SIZE = 200
routes = web.RouteTableDef()


@dataclass
class Overview:
    conferences: list[str]
    conference: str | None
    sessions: list[dict[str, Any]]  # of the chosen conference, or all
    chosen: dict[str, Any] | None
    provinces: list[str]
    province: str | None
    rows: list[dict[str, Any]]  # one page of sites: site, result, corrections
    total: int
    offset: int
    chain: ChainStatus
    limit: int = PAGE_SIZE

    def link(self, offset: int) -> str:
        """This view at another offset, filters kept."""
        query = {
            "conference": self.conference or "",
            "session": self.chosen["id"] if self.chosen else "",
            "province": self.province or "",
            "offset": offset,
        }
        return str(URL("/audit").with_query(query))


@dataclass
class SitePage:
    site: dict[str, Any]
    sessions: list[dict[str, Any]]
    log: SiteLog | None  # None: no session has started yet


@routes.get("/audit")
async def audit_overview(request: web.Request) -> web.Response:
    principal = signed_in(request)
    verifying = bool(request.query.get("verify"))
    if verifying and not principal.can_verify:
        raise web.HTTPForbidden(text="only admins and auditors verify the audit chain")
    settings, now = request.app[SETTINGS], datetime.now(UTC)
    try:
        view = await in_transaction(request, overview, principal, request.query, settings, now)
    except RecordNotFound:
        return not_found(request)
    if verifying:
        try:
            view.chain = await asyncio.to_thread(verified_status, request.app[ENGINE])
        except VerificationRunning as exc:
            raise web.HTTPConflict(text=str(exc)) from None
    return render(request, "audit.html", nav="audit", view=view)


@routes.get("/audit/sites/{code}")
async def audit_site(request: web.Request) -> web.Response:
    page = await _site_page(request)
    if page is None:
        return not_found(request)
    return render(request, "audit_site.html", nav="audit", page=page)


@routes.get("/audit/sites/{code}/report.pdf")
async def audit_site_pdf(request: web.Request) -> web.Response:
    page = await _site_page(request)
    if page is None or page.log is None:
        return not_found(request)
    pdf = await asyncio.to_thread(site_report_pdf, page.log)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{page.site['code']}-{page.log.session.code}")
    disposition = f'inline; filename="{name}.pdf"'
    return web.Response(
        body=pdf, content_type="application/pdf", headers={"Content-Disposition": disposition}
    )


async def _site_page(request: web.Request) -> SitePage | None:
    principal = signed_in(request)
    code, ref = page_site_code(request), request.query.get("session")
    settings, now = request.app[SETTINGS], datetime.now(UTC)
    if code is None:
        return None
    try:
        return await in_transaction(request, site_page, principal, code, ref, settings, now)
    except RecordNotFound:
        return None


def overview(
    db: Session, principal: Principal, query: Mapping[str, str], settings: Settings, now: datetime
) -> Overview:
    """The filters (conference, session, province) and one page of sites. An unknown session
    raises RecordNotFound; a bad offset BadInput."""
    every = all_sessions(db)
    conference = query.get("conference") or None
    sessions = [s for s in every if conference in (None, s["conference"])]
    chosen = _chosen(sessions, query.get("session"), now)
    sites = enabled_sites(db, principal.site_ids)
    province = query.get("province") or None
    kept = [s for s in sites if not province or fold(s["province"]) == fold(province)]
    offset = _offset(query.get("offset"))
    rows = _rows(db, chosen, kept[offset : offset + PAGE_SIZE], settings, now) if chosen else []
    return Overview(
        conferences=sorted({s["conference"] for s in every}),
        conference=conference,
        sessions=sessions,
        chosen=chosen,
        provinces=sorted({s["province"] for s in sites}, key=fold),
        province=province,
        rows=rows,
        total=len(kept),
        offset=offset,
        chain=chain_status(db),
    )


def site_page(
    db: Session,
    principal: Principal,
    code: str,
    ref: str | None,
    settings: Settings,
    now: datetime,
) -> SitePage | None:
    """None when the site does not exist or the reader may not see it (both answer 404)."""
    site = site_detail(db, code)
    if site is None or not principal.can_read(site["id"]):
        return None
    sessions = all_sessions(db)
    chosen = _chosen(sessions, ref, now)
    if chosen is None:
        return SitePage(site, sessions, None)
    found = conference_session(db, chosen["id"])
    return SitePage(site, sessions, site_log(db, site, found, settings, now))


def _chosen(sessions: list[dict[str, Any]], ref: str | None, now: datetime):
    """The session asked for (by id, among `sessions`), else the latest that has started."""
    if ref:
        found = next((s for s in sessions if str(s["id"]) == ref), None)
        if found is None:
            raise RecordNotFound(f"no session {ref!r} here")
        return found
    started = [s for s in sessions if s["starts_at"] <= now]
    return next(iter(started or sessions), None)


def _offset(text: str | None) -> int:
    if not text:
        return 0
    if not text.isdigit():
        raise BadInput(f"offset: expected a whole number, got {text!r}")
    return int(text)


def _rows(db, chosen, sites, settings, now) -> list[dict[str, Any]]:
    """The page's sites with their reconciliation (recomputed) and how often they were corrected."""
    if not sites:
        return []
    found = conference_session(db, chosen["id"])
    codes = [site["code"] for site in sites]
    results = {r.code: r for r in reconcile_session(db, found, settings, now, codes)}
    counts = correction_counts(db, found.id)
    return [
        {**site, "result": results.get(site["code"]), "corrections": counts.get(site["id"], 0)}
        for site in sites
    ]
