"""The REST API under /api/v1 (see /api/openapi.json)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
