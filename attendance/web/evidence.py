"""Evidence images: GET /evidence/{sha256}.jpg for whoever may read a site that shows it.

The route accepts only 64 lower-case hex digits, and the file name is built from them alone, so
no request reaches outside the evidence directory. An unknown hash, a purged image and a site
the reader may not see all answer the same 404.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from attendance.audit import evidence
from attendance.web.auth import require
from attendance.web.db import in_transaction
from attendance.web.keys import SETTINGS

HEADERS = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
routes = web.RouteTableDef()


@routes.get(r"/evidence/{sha256:[0-9a-f]{64}}.jpg")
async def evidence_image(request: web.Request) -> web.FileResponse:
    principal = require(request)
    sha256 = request.match_info["sha256"]
    sites = await in_transaction(request, evidence.sites_of, sha256)
    path = evidence.path_of(Path(request.app[SETTINGS].evidence.dir), sha256)
    if not any(principal.can_read(site_id) for site_id in sites) or not path.is_file():
        raise web.HTTPNotFound(text="no such evidence image")
    return web.FileResponse(path, headers=HEADERS)
