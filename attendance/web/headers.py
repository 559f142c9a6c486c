"""Security headers on every response: pages, API, static files, errors, raised or returned."""

from __future__ import annotations

from aiohttp import web

# Every script, style and socket is ours: nothing inline runs, nothing loads from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@web.middleware
async def security_headers(request: web.Request, handler) -> web.StreamResponse:
    """The outermost middleware, so that error pages and aiohttp's own 404/405 get them too."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    if not response.prepared:  # a WebSocket has already sent its headers
        response.headers.update(SECURITY_HEADERS)
    return response
