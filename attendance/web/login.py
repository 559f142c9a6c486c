"""Signing in and out: a form for browsers, JSON for scripts that prefer a session to a token."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from aiohttp import web

from attendance.errors import BadInput
from attendance.users import login, logout
from attendance.web.api_fields import Body, Text
from attendance.web.api_input import read_body
from attendance.web.auth import COOKIE, PRINCIPAL
from attendance.web.db import in_transaction
from attendance.web.keys import METRICS, SETTINGS
from attendance.web.live import signed_out
from attendance.web.origin import same_origin
from attendance.web.peer import client_address
from attendance.web.throttle import THROTTLE, LoginThrottle

log = logging.getLogger("attendance.web.login")
# A password is only hashed, never stored or compared as text: any character will do.
LOGIN = Body({"username": Text(100, 1), "password": Text(1000, 1, None)}, ("username", "password"))
routes = web.RouteTableDef()


@routes.post("/api/v1/login")
async def api_login(request: web.Request) -> web.Response:
    """JSON {"username", "password"} → the login cookie and {"csrf_token"} for later writes."""
    body = await read_body(request, LOGIN)
    username, password = body["username"], body["password"]
    token, csrf = await sign_in(request, username, password)
    response = web.json_response({"username": username, "csrf_token": csrf})
    set_login_cookie(request, response, token)
    return response


@routes.post("/api/v1/logout")
async def api_logout(request: web.Request) -> web.Response:
    if token := request.cookies.get(COOKIE):
        await in_transaction(request, logout, token)
        signed_out(request.app, token)
    response = web.json_response({"signed_out": request[PRINCIPAL] is not None})
    response.del_cookie(COOKIE, path="/")
    return response


async def sign_in(request: web.Request, username: str, password: str) -> tuple[str, str]:
    """(cookie token, CSRF token); 400 for a name or password no one could have, 403 from
    another site's page (a login CSRF would sign the victim in as the attacker), 429 while
    throttled, 401 for a wrong name or password (logged with the name and address, never the
    password, and counted)."""
    LOGIN.check({"username": username, "password": password})  # the login form's, too
    if not same_origin(request):
        raise web.HTTPForbidden(text="signing in from another site's page is refused")
    throttle, address = request.app[THROTTLE], client_address(request)
    await _count_attempt(request, throttle, username, address)
    hours = request.app[SETTINGS].web.login_hours
    try:
        tokens = await in_transaction(
            request, login, username, password, timedelta(hours=hours), datetime.now(UTC)
        )
    except BadInput as exc:  # the attempt stays counted
        request.app[METRICS].login_failures.inc()
        log.warning("failed sign-in as %r from %s", username, address)
        raise web.HTTPUnauthorized(text=str(exc)) from None
    await throttle.succeeded(username, address)
    return tokens


async def _count_attempt(
    request: web.Request, throttle: LoginThrottle, username: str, address: str
) -> None:
    """Past a limit, 429 without checking the password: a right guess among too many must not
    get in."""
    wait = math.ceil(await throttle.attempt(username, address))
    if wait:
        request.app[METRICS].login_throttled.inc()
        log.warning(
            "sign-in as %r from %s refused for %d s: too many failures", username, address, wait
        )
        raise web.HTTPTooManyRequests(
            text=f"too many failed sign-ins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def set_login_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = request.app[SETTINGS].web
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        path="/",
        secure=settings.secure_cookies,
        max_age=int(settings.login_hours * 3600),
    )
