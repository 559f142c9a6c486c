"""Conference sessions through the API, with their estimates and the roster reconciliation.

Sessions are the same for everyone; the per-site figures of a session only for sites the caller
may see.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from attendance.config import Settings
from attendance.results.reconcile import reconcile_session
from attendance.store.estimates import estimates_page
from attendance.store.paging import Page
from attendance.store.sessions import conference_session, session_row, sessions_page
from attendance.store.sites import site_codes
from attendance.text import fold
from attendance.users import Principal
from attendance.web.api_common import PROVINCE, page_of, paged, send
from attendance.web.api_fields import MAX_ID, Choice, Integer
from attendance.web.api_input import Parameter
from attendance.web.auth import require
from attendance.web.db import in_transaction
from attendance.web.keys import SETTINGS

RECONCILE_STATUSES = ("ok", "under", "over", "feed_problem", "no_data")
SESSION_ID = r"{id:\d{1,18}}"  # anything else is no session: 404
SESSION = Parameter("id", "path", Integer(1, MAX_ID), "Session id.")
STATUS = Parameter("status", "query", Choice(RECONCILE_STATUSES), "Only this status.")
routes = web.RouteTableDef()


@routes.get("/api/v1/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    require(request)
    page = page_of(request)
    items, total = await in_transaction(request, sessions_page, page)
    return paged(items, total, page)


@routes.get(f"/api/v1/sessions/{SESSION_ID}")
async def get_session(request: web.Request) -> web.Response:
    require(request)
    return send(await in_transaction(request, session_row, SESSION.read(request)))


@routes.get(f"/api/v1/sessions/{SESSION_ID}/estimates")
async def list_estimates(request: web.Request) -> web.Response:
    """The estimates stored by the last writer's reconciliation, by site code."""
    principal, page = require(request), page_of(request)
    items, total = await in_transaction(
        request, _estimates, principal.site_ids, SESSION.read(request), page
    )
    return paged(items, total, page)


def _estimates(
    session: Session, visible: frozenset[int] | None, session_id: int, page: Page
) -> tuple:
    conference_session(session, session_id)
    return estimates_page(session, session_id, visible, page)


@routes.get(f"/api/v1/sessions/{SESSION_ID}/reconciliation")
async def reconciliation(request: web.Request) -> web.Response:
    """Every visible site's result, recomputed from the samples now; nothing is stored."""
    return await _reconciliation(request, require(request), stored_by=None)


@routes.post(f"/api/v1/sessions/{SESSION_ID}/reconciliation")
async def store_reconciliation(request: web.Request) -> web.Response:
    """As the GET, and the estimates stored (a change audited as this user's): organizers and
    admins, who see every site, set the figures of record."""
    principal = require(request)
    if not principal.can_correct:
        raise web.HTTPForbidden(text=f"{principal.username} ({principal.role}) may not store")
    return await _reconciliation(request, principal, stored_by=principal.username)


async def _reconciliation(
    request: web.Request, principal: Principal, stored_by: str | None
) -> web.Response:
    page = page_of(request)
    status, province = STATUS.read(request), PROVINCE.read(request)
    settings = request.app[SETTINGS]
    results = await in_transaction(
        request, _reconcile, principal, SESSION.read(request), settings, stored_by
    )
    kept = [r for r in results if _keeps(r, status, province)]
    return paged(page.of(kept), len(kept), page)


def _reconcile(
    session: Session,
    principal: Principal,
    session_id: int,
    settings: Settings,
    stored_by: str | None,
) -> list[dict[str, Any]]:
    found = conference_session(session, session_id)
    now = datetime.now(UTC)
    reconciled = reconcile_session(session, found, settings, now, stored_by=stored_by)
    results = [r.as_dict() for r in reconciled]
    if principal.site_ids is None:
        return results
    visible = site_codes(session, principal.site_ids)
    return [r for r in results if r["code"] in visible]


def _keeps(result: dict[str, Any], status: str | None, province: str | None) -> bool:
    return (status is None or result["status"] == status) and (
        not province or fold(result["province"]) == fold(province)
    )
