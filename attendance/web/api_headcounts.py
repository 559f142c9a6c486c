"""Manual headcounts through the API; the dashboard's headcount form posts here too.

Who may record is checked before the body is read: an auditor or a site outside an operator's
scope is refused whatever it sends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from attendance.results.headcounts import MAX_HEADCOUNT, record_headcount
from attendance.store.headcounts import headcount_recorded, headcounts_page
from attendance.store.paging import Page
from attendance.store.sessions import session_at
from attendance.store.sites import readable_site
from attendance.users import Principal
from attendance.web.api_common import SITE_CODE, page_of, paged, send
from attendance.web.api_fields import PROSE, Body, Integer, Moment, Text
from attendance.web.api_input import read_body
from attendance.web.auth import require
from attendance.web.db import in_transaction

MAX_NOTE = 2000
HEADCOUNT = Body(
    {
        "count": Integer(0, MAX_HEADCOUNT, "a whole number of people"),
        "at": Moment("With an offset; default: now."),
        "note": Text(MAX_NOTE, pattern=PROSE, nullable=True),
    },
    required=("count",),
)
routes = web.RouteTableDef()


@routes.get("/api/v1/sites/{code}/headcounts")
async def list_headcounts(request: web.Request) -> web.Response:
    principal, page = require(request), page_of(request)
    items, total = await in_transaction(
        request, _headcounts, principal, SITE_CODE.read(request), page
    )
    return paged(items, total, page)


def _headcounts(session: Session, principal: Principal, code: str, page: Page) -> tuple:
    site = readable_site(session, code, principal.can_read)
    return headcounts_page(session, site.id, page)


@routes.post("/api/v1/sites/{code}/headcounts")
async def add_headcount(request: web.Request) -> web.Response:
    """JSON {"count", "at"?, "note"?} → 201 {"headcount", "factor", "message"}."""
    principal, code = require(request), SITE_CODE.read(request)
    site = await in_transaction(request, readable_site, code, principal.can_read)
    if not principal.can_record(site.id):
        raise web.HTTPForbidden(text=f"{principal.username} ({principal.role}) may not record")
    fields = await read_body(request, HEADCOUNT)
    at = fields.get("at") or datetime.now(UTC)
    count, note = fields["count"], (fields.get("note") or "").strip() or None
    body = await in_transaction(request, _record, principal, site.id, code, count, at, note)
    return send(body, status=201)


def _record(
    session: Session,
    principal: Principal,
    site_id: int,
    code: str,
    count: int,
    at: datetime,
    note: str | None,
) -> dict[str, Any]:
    by = principal.username
    done = record_headcount(session, code, count, at, by, note, session_at(session, at))
    headcount = headcount_recorded(session, site_id, by, at)
    return {"headcount": headcount, "factor": done.factor, "message": done.note}
