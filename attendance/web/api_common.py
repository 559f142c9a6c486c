"""What every API handler shares: query parameters checked at the edge, JSON out, pages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from attendance.store.api_queries import Page

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def page_of(request: web.Request) -> Page:
    """`limit` (1–1000, default 100) and `offset` (≥ 0) from the query, or 400."""
    limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    return Page(limit, int_param(request, "offset", 0, 0, None))


def int_param(
    request: web.Request, name: str, default: int | None, low: int, high: int | None
) -> int | None:
    text = request.query.get(name)
    if text is None:
        return default
    span = f"{low}–{high}" if high is not None else f"≥ {low}"
    try:
        value = int(text)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name}: expected an integer {span}, got {text!r}") from None
    if value < low or (high is not None and value > high):
        raise web.HTTPBadRequest(text=f"{name}: expected an integer {span}, got {value}")
    return value


def choice_param(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name) or None
    if value is not None and value not in allowed:
        raise web.HTTPBadRequest(text=f"{name}: expected one of {', '.join(allowed)}")
    return value


def paged(items: list[dict], total: int, page: Page) -> web.Response:
    return send({"items": items, "total": total, "limit": page.limit, "offset": page.offset})


def send(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
