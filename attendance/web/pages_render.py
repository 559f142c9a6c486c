"""Rendering a dashboard page: the template and the reader's language."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from yarl import URL

from attendance.users import Principal
from attendance.web.api_common import SITE_CODE
from attendance.web.auth import PRINCIPAL
from attendance.web.keys import SETTINGS
from attendance.web.pages_text import DEFAULT, STRINGS

LANG_COOKIE = "attendance_lang"
LANG_DAYS = 365

_templates = Environment(
    loader=PackageLoader("attendance.web", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def language(request: web.Request) -> str:
    """`?lang=` when it names a language we have, else the remembered choice, else Vietnamese."""
    for asked in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in STRINGS:
            return asked
    return DEFAULT


def signed_in(request: web.Request) -> Principal:
    """The principal, or a redirect to the login form that comes back here afterwards."""
    principal = request[PRINCIPAL]
    if principal is None:
        raise web.HTTPFound(str(URL("/login").with_query(next=request.path_qs)))
    return principal


def render(
    request: web.Request, template: str, status: int = 200, nav: str | None = None, **context
) -> web.Response:
    """`nav`: the menu entry to mark as the current page."""
    lang = language(request)
    principal: Principal | None = request[PRINCIPAL]
    html = _templates.get_template(template).render(
        t=STRINGS[lang],
        lang=lang,
        lang_links={code: str(request.rel_url.update_query(lang=code)) for code in STRINGS},
        principal=principal,
        nav=nav,
        timezone=request.app[SETTINGS].sites.timezone,
        **context,
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    if request.query.get("lang") in STRINGS:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=LANG_DAYS * 86400,
            path="/",
            samesite="Lax",
            secure=request.app[SETTINGS].web.secure_cookies,
        )
    return response


def not_found(request: web.Request) -> web.Response:
    """The same answer for a site that does not exist and one the reader may not see."""
    return render(request, "not_found.html", status=404)


def page_site_code(request: web.Request) -> str | None:
    """The path's site code, or None when no site could have it (too long, a control
    character): a page answers that as it answers an unknown site."""
    try:
        return SITE_CODE.read(request)
    except web.HTTPBadRequest:
        return None
