"""For operators of the service: liveness, readiness and Prometheus metrics (the last two
behind `ops_access` when the settings ask for it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from attendance.store.models import Sample
from attendance.store.sessions import active_session
from attendance.web.db import in_transaction
from attendance.web.keys import METRICS, SETTINGS
from attendance.web.ops_access import require_ops_access
from attendance.web.writers import writer_problems

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process answers: nothing more is checked (that is /readyz)."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers, no sample writer is failing to store, and, during a
    session, samples keep arriving."""
    require_ops_access(request)
    quiet_after = timedelta(seconds=request.app[SETTINGS].sampling.offline_after_s)
    try:
        problems = await in_transaction(request, _problems, datetime.now(UTC), quiet_after)
    except Exception as exc:  # any database failure means not ready
        problems = [f"database: {type(exc).__name__}: {exc}"]
    problems += writer_problems(request.app)
    body = {"status": "not ready" if problems else "ready", "problems": problems}
    return web.json_response(body, status=503 if problems else 200)


def _problems(session: Session, now: datetime, quiet_after: timedelta) -> list[str]:
    session.execute(text("SELECT 1"))
    if active_session(session.get_bind(), now) is None:
        return []
    last = session.scalar(select(func.max(Sample.created_at)))
    if last is None or now - last > quiet_after:
        return [f"a session is running but no sample was stored since {last or 'ever'}"]
    return []


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    require_ops_access(request)
    body, content_type = request.app[METRICS].render(request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type})
