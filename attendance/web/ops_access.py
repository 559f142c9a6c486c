"""Who may read /metrics and /readyz: anyone (as before), unless `web.ops_token` or
`web.ops_allow` is set; then only a request with the token or from an allowed address.

/healthz stays open: it says no more than that the process answers."""

from __future__ import annotations

import hmac

from aiohttp import web

from attendance.web.keys import SETTINGS
from attendance.web.peer import client_address, in_networks


def ops_token_sent(request: web.Request) -> bool:
    """Whether the request carries the ops token (compared in constant time)."""
    token = request.app[SETTINGS].web.ops_token
    if token is None:
        return False
    expected = f"Bearer {token.get_secret_value()}".encode()
    return hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected)


def require_ops_access(request: web.Request) -> None:
    """Return when the request may read the operational endpoints, else 403."""
    settings = request.app[SETTINGS].web
    if settings.ops_token is None and not settings.ops_allow:
        return
    if ops_token_sent(request) or in_networks(client_address(request), settings.ops_allow):
        return
    raise web.HTTPForbidden(
        text="send 'Authorization: Bearer <web.ops_token>' or ask from an address in web.ops_allow"
    )
