"""Corrections of a session's site figures through the API: organizers and admins write, every
signed-in reader lists (operators only their sites' corrections).

The role is checked before the body is read: an auditor or operator is refused whatever it sends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from attendance.config import Settings
from attendance.results.corrections import MAX_REASON, MAX_TIMES, correct
from attendance.results.headcounts import MAX_HEADCOUNT
from attendance.store.corrections import corrections_of
from attendance.store.paging import Page
from attendance.store.sessions import conference_session
from attendance.users import Principal
from attendance.web.api_common import page_of, paged, send
from attendance.web.api_fields import PROSE, Body, Integer, Text
from attendance.web.api_input import read_body
from attendance.web.api_sessions import SESSION, SESSION_ID
from attendance.web.auth import require
from attendance.web.db import in_transaction
from attendance.web.keys import SETTINGS

CORRECTION = Body(  # whether a value or reason makes sense for the site is the domain's call
    {
        "site": Text(64, 1, description="Site code."),
        "value": Integer(
            0,
            MAX_TIMES * MAX_HEADCOUNT,
            "a whole number of people",
            f"People present: at most {MAX_TIMES}× the site's capacity or roster.",
        ),
        "reason": Text(MAX_REASON, 1, PROSE),
    },
    required=("site", "value", "reason"),
)
routes = web.RouteTableDef()


@routes.get(f"/api/v1/sessions/{SESSION_ID}/corrections")
async def list_corrections(request: web.Request) -> web.Response:
    principal, page = require(request), page_of(request)
    items, total = await in_transaction(
        request, _corrections, principal.site_ids, SESSION.read(request), page
    )
    return paged(items, total, page)


def _corrections(
    session: Session, visible: frozenset[int] | None, session_id: int, page: Page
) -> tuple[list[dict[str, Any]], int]:
    conference_session(session, session_id)
    items, total = corrections_of(session, session_id, visible, page.limit, page.offset)
    return [_item(row) for row in items], total


@routes.post(f"/api/v1/sessions/{SESSION_ID}/corrections")
async def add_correction(request: web.Request) -> web.Response:
    """JSON {"site", "value", "reason"} → 201 with the correction."""
    principal = require(request)
    if not principal.can_correct:
        raise web.HTTPForbidden(text=f"{principal.username} ({principal.role}) may not correct")
    fields = await read_body(request, CORRECTION)
    body = await in_transaction(
        request,
        _correct,
        principal,
        SESSION.read(request),
        fields["site"],
        fields["value"],
        fields["reason"],
        request.app[SETTINGS],
    )
    return send(body, status=201)


def _correct(
    session: Session,
    principal: Principal,
    session_id: int,
    code: str,
    value: float,
    reason: str,
    settings: Settings,
) -> dict[str, Any]:
    found = conference_session(session, session_id)
    now = datetime.now(UTC)
    done = correct(
        session, found, code, value, reason, principal.username, settings, now, principal.user_id
    )
    return _item(done)


def _item(row: dict[str, Any]) -> dict[str, Any]:
    """The API's shape: the site by code, never the internal id."""
    return {key: value for key, value in row.items() if key != "site_id"}
