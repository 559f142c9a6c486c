"""The dashboard's pages (Vietnamese by default, English on request).

Pages are server-rendered shells; the numbers on them come live over the WebSocket
(/api/v1/live) and are drawn by our own small scripts in static/. Every page needs a login and
sends the reader to /login otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from aiohttp import web

from attendance.errors import RecordNotFound
from attendance.users import logout
from attendance.web import pages_audit
from attendance.web.auth import COOKIE, PRINCIPAL
from attendance.web.db import in_transaction
from attendance.web.keys import SETTINGS
from attendance.web.live import LIVE, signed_out
from attendance.web.login import set_login_cookie, sign_in
from attendance.web.pages_render import not_found, page_site_code, render, signed_in
from attendance.web.pages_site import site_view

STATIC = Path(__file__).parent / "static"
STATUSES = ("live", "stale", "offline", "degraded")
# The site table's columns: SiteRow fields (attendance/web/live.py) and `rate`, which live.js
# derives; each header's key names the field its cells show (tests/web/test_live_contract.py).
SITE_COLUMNS = ("code", "name", "province", "expected", "count", "rate", "status", "reason", "at")
routes = web.RouteTableDef()
routes.static("/static", STATIC)
for route in pages_audit.routes:
    routes.route(route.method, route.path, **route.kwargs)(route.handler)


def _safe_next(target: str | None) -> str:
    """Only a path on this site, else "/": a login link must not send the user elsewhere.
    Judged unquoted, as a browser may read it: browsers drop tabs and newlines from a URL and
    read a backslash as a slash, so `/%09/evil.example/` and `/%5Cevil.example` lead off the
    site. A single leading slash leaves no room for a scheme or a host."""
    path = unquote(target or "")
    on_site = path.startswith("/") and not path.startswith(("//", "/\\"))
    return target if on_site and not any(ord(c) < 0x20 or c == "\x7f" for c in path) else "/"


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    if request[PRINCIPAL] is not None:
        raise web.HTTPFound(_safe_next(request.query.get("next")))
    return render(request, "login.html", next=_safe_next(request.query.get("next")))


@routes.post("/login")
async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    try:
        token, _csrf = await sign_in(request, username, password)
    except web.HTTPUnauthorized:
        return render(
            request, "login.html", status=401, error="login_wrong", username=username, next=target
        )
    except web.HTTPTooManyRequests as exc:
        page = render(
            request,
            "login.html",
            status=429,
            error="login_throttled",
            username=username,
            next=target,
        )
        page.headers["Retry-After"] = exc.headers["Retry-After"]
        return page
    response = _see_other(target)
    set_login_cookie(request, response, token)
    return response


@routes.post("/logout")
async def logout_submit(request: web.Request) -> web.Response:
    """The CSRF field was checked by the auth middleware, as for every cookie write."""
    if token := request.cookies.get(COOKIE):
        await in_transaction(request, logout, token)
        signed_out(request.app, token)
    response = _see_other("/login")
    response.del_cookie(COOKIE, path="/")
    return response


def _see_other(location: str) -> web.Response:
    """After a form POST, the browser GETs `location`: a reload does not post again."""
    return web.Response(status=303, headers={"Location": location})


@routes.get("/")
async def overview(request: web.Request) -> web.Response:
    signed_in(request)
    return render(request, "overview.html", nav="overview", statuses=STATUSES)


@routes.get("/sites")
async def sites(request: web.Request) -> web.Response:
    signed_in(request)
    return render(request, "sites.html", nav="sites", statuses=STATUSES, columns=SITE_COLUMNS)


@routes.get("/sites/{code}")
async def site_page(request: web.Request) -> web.Response:
    principal = signed_in(request)
    code = page_site_code(request)
    settings, now = request.app[SETTINGS], datetime.now(UTC)
    if code is None:
        return not_found(request)
    try:
        view = await in_transaction(
            request, site_view, code, principal, request.query.get("session"), settings, now
        )
    except RecordNotFound:
        return not_found(request)
    if view is None:
        return not_found(request)
    live = request.app[LIVE].rows.get(code)  # a SiteRow, or None
    return render(request, "site.html", nav="sites", view=view, live=live)
