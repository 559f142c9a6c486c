"""The REST API under /api/v1 (see /api/openapi.json), one module per resource."""

from __future__ import annotations

from attendance.web import api_corrections, api_headcounts, api_sessions, api_sites, openapi

routes = [
    *api_sites.routes,
    *api_headcounts.routes,
    *api_sessions.routes,
    *api_corrections.routes,
    *openapi.routes,
]
