"""The web application, wired in one place: settings, database, event bus, routes."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import Engine

from attendance.config import Settings
from attendance.live.bus import EventBus
from attendance.web import api, evidence, login, ops, pages
from attendance.web.auth import auth_middleware
from attendance.web.errors import error_middleware
from attendance.web.headers import security_headers
from attendance.web.keys import BUS, ENGINE, METRICS, SETTINGS
from attendance.web.live import live_context
from attendance.web.live import routes as live_routes
from attendance.web.metrics import Metrics
from attendance.web.throttle import throttle_context
from attendance.web.writers import writers_context


def create_app(settings: Settings, engine: Engine, bus: EventBus) -> web.Application:
    app = web.Application(
        middlewares=[security_headers, error_middleware, auth_middleware],
        client_max_size=settings.web.max_body_kb * 1024,
    )
    app[SETTINGS], app[ENGINE], app[BUS] = settings, engine, bus
    app[METRICS] = Metrics(bus)
    app.cleanup_ctx.append(live_context)
    app.cleanup_ctx.append(writers_context)
    app.cleanup_ctx.append(throttle_context)
    for routes in (
        ops.routes,
        login.routes,
        live_routes,
        api.routes,
        pages.routes,
        evidence.routes,
    ):
        app.add_routes(routes)
    return app
