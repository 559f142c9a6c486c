"""The dashboard's pages (Vietnamese by default, English on request)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
