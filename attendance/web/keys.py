"""What the app holds, under typed keys (set once in `create_app`)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import Engine

from attendance.config import Settings
from attendance.live.bus import EventBus
from attendance.web.metrics import Metrics

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
BUS = web.AppKey("bus", EventBus)
METRICS = web.AppKey("metrics", Metrics)
