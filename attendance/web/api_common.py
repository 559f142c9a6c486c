"""What every API handler shares: the parameters most of them take, JSON out, pages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from attendance.store.paging import Page
from attendance.web.api_fields import MAX_ID, Integer, Text
from attendance.web.api_input import Parameter

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
LIMIT = Parameter("limit", "query", Integer(1, MAX_LIMIT), "Items per page.", DEFAULT_LIMIT)
OFFSET = Parameter("offset", "query", Integer(0, MAX_ID), "Items to skip.", 0)
SITE_CODE = Parameter("code", "path", Text(64, 1), "Site code.")
PROVINCE = Parameter("province", "query", Text(200), "Province name, diacritics optional.")


def page_of(request: web.Request) -> Page:
    """`limit` and `offset` from the query, or 400."""
    return Page(LIMIT.read(request), OFFSET.read(request))


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
