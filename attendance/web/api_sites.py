"""Sites through the API: the list, one site with its latest sample, its samples and roster.

Operators see only the sites of their scope; any other site answers 404, as an unknown one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from attendance.store.paging import Page
from attendance.store.roster import roster_page
from attendance.store.samples import latest_sample, samples_page
from attendance.store.sessions import conference_session
from attendance.store.sites import SiteFilter, readable_site, site_details, sites_page
from attendance.users import Principal
from attendance.web.api_common import PROVINCE, SITE_CODE, page_of, paged, send
from attendance.web.api_fields import MAX_ID, Choice, Integer, Text
from attendance.web.api_input import Parameter
from attendance.web.auth import require
from attendance.web.db import in_transaction
from attendance.web.live import LIVE

SITE_STATUSES = ("live", "degraded", "stale", "offline", "disabled")
SEARCH = Parameter("q", "query", Text(100), "Part of the code or name, diacritics optional.")
STATUS = Parameter("status", "query", Choice(SITE_STATUSES), "Live status.")
OF_SESSION = Parameter("session", "query", Integer(1, MAX_ID), "Only this session's samples.")
routes = web.RouteTableDef()


@routes.get("/api/v1/sites")
async def list_sites(request: web.Request) -> web.Response:
    principal, page = require(request), page_of(request)
    wanted = SiteFilter(
        visible=principal.site_ids,
        province=PROVINCE.read(request),
        q=SEARCH.read(request),
        status=STATUS.read(request),
        status_of=status_reader(request),
    )
    items, total = await in_transaction(request, sites_page, wanted, page)
    for item in items:
        item["status"] = wanted.status_of(item)
    return paged(items, total, page)


@routes.get("/api/v1/sites/{code}")
async def get_site(request: web.Request) -> web.Response:
    """The site, its live status, its latest sample and its calibration factor."""
    principal = require(request)
    site = await in_transaction(request, _site, principal, SITE_CODE.read(request))
    site["status"] = status_reader(request)(site)
    return send(site)


def _site(session: Session, principal: Principal, code: str) -> dict[str, Any]:
    found = readable_site(session, code, principal.can_read)
    site = site_details(session, [found.id])[0]
    site["latest_sample"] = latest_sample(session, found.id)
    return site


@routes.get("/api/v1/sites/{code}/samples")
async def list_samples(request: web.Request) -> web.Response:
    principal, page = require(request), page_of(request)
    session_id = OF_SESSION.read(request)
    items, total = await in_transaction(
        request, _samples, principal, SITE_CODE.read(request), page, session_id
    )
    return paged(items, total, page)


def _samples(
    session: Session, principal: Principal, code: str, page: Page, session_id: int | None
) -> tuple:
    site = readable_site(session, code, principal.can_read)
    if session_id is not None:
        conference_session(session, session_id)  # 404 for an unknown one, not an empty page
    return samples_page(session, site.id, page, session_id)


@routes.get("/api/v1/sites/{code}/roster")
async def list_roster(request: web.Request) -> web.Response:
    principal, page = require(request), page_of(request)
    items, total = await in_transaction(request, _roster, principal, SITE_CODE.read(request), page)
    return paged(items, total, page)


def _roster(session: Session, principal: Principal, code: str, page: Page) -> tuple:
    site = readable_site(session, code, principal.can_read)
    return roster_page(session, site.id, page)


def status_reader(request: web.Request) -> Callable[[dict[str, Any]], str]:
    """A site row's status: `disabled`, else the live board's (copied now, read in a thread)."""
    live = {code: row.status for code, row in request.app[LIVE].rows.items()}

    def status_of(row: dict[str, Any]) -> str:
        return live.get(row["code"], "offline") if row["enabled"] else "disabled"

    return status_of
