"""Who is asking: a login cookie (browsers) or a bearer token (scripts), checked on every request.

Writes made with a login cookie must carry the session's CSRF token (header `X-CSRF-Token` or
form field `csrf`): another site can make a browser send the cookie, not read the token.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from attendance.users import Principal, from_login, from_token
from attendance.web.db import in_transaction
from attendance.web.ops_access import ops_token_sent

COOKIE = "attendance_login"
PRINCIPAL = web.RequestKey("principal", object)  # Principal | None
LOGIN = web.RequestKey("login", object)  # the login cookie the principal came from, or None
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@web.middleware
async def auth_middleware(request: web.Request, handler) -> web.StreamResponse:
    request[PRINCIPAL] = request[LOGIN] = None
    now = datetime.now(UTC)
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and not ops_token_sent(request):  # ops: no user behind it
        request[PRINCIPAL] = await in_transaction(request, from_token, header[7:].strip(), now)
        if request[PRINCIPAL] is None:
            raise web.HTTPUnauthorized(text="the API token is unknown or revoked")
    elif token := request.cookies.get(COOKIE):
        request[PRINCIPAL] = await in_transaction(request, from_login, token, now)
        if request[PRINCIPAL] is not None:
            request[LOGIN] = token
            if request.method not in SAFE_METHODS:
                await _check_csrf(request, request[PRINCIPAL])
    return await handler(request)


async def _check_csrf(request: web.Request, principal: Principal) -> None:
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.content_type == "application/x-www-form-urlencoded":
        sent = (await request.post()).get("csrf")
    if sent != principal.csrf_token:
        raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page")


def require(request: web.Request) -> Principal:
    """The signed-in principal, or 401."""
    principal = request[PRINCIPAL]
    if principal is None:
        raise web.HTTPUnauthorized(text="sign in, or send 'Authorization: Bearer <token>'")
    return principal
