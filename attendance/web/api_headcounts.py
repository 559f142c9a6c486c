"""Manual headcounts through the API; the dashboard's headcount form posts here too.

Who may record is checked before the body is read: an auditor or a site outside an operator's
scope is refused whatever it sends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from attendance.headcounts import record_headcount
from attendance.store import api_queries as q
from attendance.store.results import session_at
from attendance.users import Principal
from attendance.web.api_common import page_of, paged, send
from attendance.web.auth import require
from attendance.web.db import in_transaction
from attendance.web.login import json_body

FIELDS = {"count", "at", "note"}
MAX_NOTE = 2000
routes = web.RouteTableDef()


@routes.get("/api/v1/sites/{code}/headcounts")
async def list_headcounts(request: web.Request) -> web.Response:
    principal, page = require(request), page_of(request)
    items, total = await in_transaction(
        request, _headcounts, principal, request.match_info["code"], page
    )
    return paged(items, total, page)


def _headcounts(session: Session, principal: Principal, code: str, page: q.Page) -> tuple:
    site = q.readable_site(session, code, principal.can_read)
    return q.headcounts_page(session, site.id, page)


@routes.post("/api/v1/sites/{code}/headcounts")
async def add_headcount(request: web.Request) -> web.Response:
    """JSON {"count", "at"?, "note"?} → 201 {"headcount", "factor", "message"}."""
    principal, code = require(request), request.match_info["code"]
    site = await in_transaction(request, q.readable_site, code, principal.can_read)
    if not principal.can_record(site.id):
        raise web.HTTPForbidden(text=f"{principal.username} ({principal.role}) may not record")
    count, at, note = _headcount_input(await json_body(request))
    body = await in_transaction(request, _record, principal, site.id, code, count, at, note)
    return send(body, status=201)


def _headcount_input(body: dict[str, Any]) -> tuple[int, datetime, str | None]:
    if unknown := sorted(set(body) - FIELDS):
        raise web.HTTPBadRequest(text=f"unknown field(s): {', '.join(unknown)}")
    count = body.get("count")
    if type(count) is not int:  # bool is an int to Python, not a number of people
        raise web.HTTPBadRequest(text="count: expected a whole number of people")
    return count, _time(body.get("at")), _note(body.get("note"))


def _time(value: Any) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise web.HTTPBadRequest(text="at: expected an ISO 8601 time with an offset")
    return at.astimezone(UTC)


def _note(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise web.HTTPBadRequest(text="note: expected a string")
    if value is not None and len(value) > MAX_NOTE:
        raise web.HTTPBadRequest(text=f"note: at most {MAX_NOTE} characters")
    return (value.strip() or None) if value else None


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
    headcount = q.headcount_recorded(session, site_id, by, at)
    return {"headcount": headcount, "factor": done.factor, "message": done.note}
