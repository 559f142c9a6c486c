"""Whether a request comes from one of our own pages: the browser's Origin header against Host.

Browsers send Origin on every WebSocket upgrade and cross-site POST, and a page cannot forge it.
A request without one does not come from a browser page (curl, scripts): another site cannot
make those carry the user's cookie, so they pass. Host and Origin are compared by host and
port only, so a proxy that ends TLS in front of the server (Origin https://x, Host x) passes.
"""

from __future__ import annotations

from aiohttp import web
from yarl import URL


def same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        sent = URL(origin)
        ours = URL(f"{sent.scheme}://{request.host}")
    except ValueError:
        return False
    if sent.scheme not in ("http", "https") or not sent.host or not ours.host:
        return False  # "null" (a sandboxed frame, a file) or garbage
    return (sent.host.lower(), sent.port) == (ours.host.lower(), ours.port)
