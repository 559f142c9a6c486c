"""Errors at the edge: domain errors become 4xx with a message a person can act on, API errors
are JSON, and an unexpected failure is logged and answered 500 without its details."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from aiohttp import web

from attendance.errors import AttendanceError, BadInput, RecordNotFound

log = logging.getLogger("attendance.web")
BODY_HEADERS = ("content-type", "content-length")  # the JSON error's own replace these


def json_error(
    status: int, message: str, headers: Mapping[str, str] | None = None, **extra
) -> web.Response:
    body = {"error": {"status": status, "message": message, **extra}}
    return web.json_response(body, status=status, headers=headers, dumps=_dumps)


def _kept_headers(exc: web.HTTPException) -> dict[str, str]:
    """What an HTTP error says beyond its body (Allow on a 405, Retry-After on a 429, …)."""
    return {k: v for k, v in exc.headers.items() if k.lower() not in BODY_HEADERS}


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    api = request.path.startswith("/api/")
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not api or exc.status < 400:
            raise
        return json_error(exc.status, exc.text or exc.reason, _kept_headers(exc))
    except RecordNotFound as exc:
        return json_error(404, str(exc)) if api else _page_error(404, str(exc))
    except (BadInput, AttendanceError) as exc:
        return json_error(400, str(exc)) if api else _page_error(400, str(exc))
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        message = "internal error; the server log has the details"
        return json_error(500, message) if api else _page_error(500, message)


def _page_error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message, content_type="text/plain")
