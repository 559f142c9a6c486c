"""Signing in and out: a form for browsers, JSON for scripts that prefer a session to a token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from attendance.errors import BadInput
from attendance.users import login, logout
from attendance.web.api_fields import Body, Text
from attendance.web.api_input import read_body
from attendance.web.auth import COOKIE, PRINCIPAL
from attendance.web.db import in_transaction
from attendance.web.keys import SETTINGS
from attendance.web.live import signed_out

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
    LOGIN.check({"username": username, "password": password})  # the login form's, too
    hours = request.app[SETTINGS].web.login_hours
    try:
        return await in_transaction(
            request, login, username, password, timedelta(hours=hours), datetime.now(UTC)
        )
    except BadInput as exc:
        raise web.HTTPUnauthorized(text=str(exc)) from None


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
