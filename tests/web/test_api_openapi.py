"""The OpenAPI document: valid, naming exactly the app's API routes, and true to the app.

The tour asks every documented operation once, as a client would, and checks each answer
against the document's schema for its status; which operations were asked is recorded by the
HTTP client itself, so an operation the tour misses fails the test.
"""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from attendance.config import DatabaseSettings, Settings
from attendance.live.bus import EventBus
from attendance.store.db import make_engine, transaction
from attendance.web import ops
from attendance.web.app import create_app
from attendance.web.openapi import DOCUMENT
from tests.web.harness import run, serving
from tests.web.test_api import (
    START,
    bearer,
    quick_passwords,  # noqa: F401 (autouse: applies here too)
    seed,
    session_id,
)

OPERATIONS = {
    (method, path) for path, operations in DOCUMENT["paths"].items() for method in operations
}


def test_document_is_valid_openapi():
    validate(DOCUMENT)
    assert set(DOCUMENT["components"]["securitySchemes"]) == {"cookieAuth", "bearerAuth"}


def test_document_names_exactly_the_api_routes():
    settings = Settings(database=DatabaseSettings(url="sqlite://"))
    engine = make_engine(settings.database)  # never connected: routes only
    app = create_app(settings, engine, EventBus())
    served = {route.path for route in ops.routes}
    routed = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD"
        and (route.resource.canonical.startswith("/api/") or route.resource.canonical in served)
    }
    assert routed == OPERATIONS
    engine.dispose()


def test_every_documented_operation_answers_as_documented(db, engine):
    tokens = seed(engine)
    with transaction(engine) as session:
        sid = session_id(session)
    asked: set[tuple[str, str, int]] = set()

    async def record(_session, _context, params: aiohttp.TraceRequestEndParams) -> None:
        asked.add((params.method.lower(), params.url.path, params.response.status))

    tracer = aiohttp.TraceConfig()
    tracer.on_request_end.append(record)

    async def tour():
        async with serving(db) as web:
            jar = aiohttp.CookieJar(unsafe=True)
            base = web.server.make_url("")
            async with aiohttp.ClientSession(
                base_url=base, cookie_jar=jar, trace_configs=[tracer]
            ) as http:
                login = {"username": "organizer", "password": "correct horse battery"}
                csrf = (await ask(http, "post", "/api/v1/login", json=login))["csrf_token"]
                for path in (
                    "/api/openapi.json",
                    "/healthz",
                    "/readyz",
                    "/metrics",
                    "/api/v1/sites?q=ba+dinh",
                    "/api/v1/sites/HN01",
                    f"/api/v1/sites/HN01/samples?session={sid}",
                    "/api/v1/sites/HN01/roster",
                    "/api/v1/sites/HN01/headcounts",
                    "/api/v1/sessions",
                    f"/api/v1/sessions/{sid}",
                    f"/api/v1/sessions/{sid}/reconciliation?status=ok",
                    f"/api/v1/sessions/{sid}/estimates",
                ):
                    await ask(http, "get", path)
                at = f"{START + timedelta(minutes=5):%Y-%m-%dT%H:%M:%S}.000Z"  # as browsers send
                body = {"count": 2, "at": at, "note": None}
                headers = {"X-CSRF-Token": csrf}
                path = "/api/v1/sites/HN01/headcounts"
                await ask(http, "post", path, 201, json=body, headers=headers)
                path = f"/api/v1/sessions/{sid}/reconciliation?status=ok"
                await ask(http, "post", path, headers=headers)
                path = f"/api/v1/sessions/{sid}/corrections"
                body = {"site": "HN01", "value": 3, "reason": "đếm lại tại chỗ"}
                await ask(http, "post", path, 201, json=body, headers=headers)
                await ask(http, "get", path)
                async with http.ws_connect("/api/v1/live") as ws:
                    assert (await ws.receive_json())["type"] == "snapshot"
                await ask(http, "post", "/api/v1/logout", headers=headers)
            async with web.client() as anonymous:  # a bearer token answers as documented too
                await ask(anonymous, "get", "/api/v1/sites", headers=bearer(tokens["auditor"]))

    run(tour())
    assert {(method, template(path)) for method, path, _ in asked} == OPERATIONS


async def ask(http, method: str, path: str, status: int = 200, **kwargs):
    """Request, check the answer against the document, return its JSON (if any)."""
    async with http.request(method, path, **kwargs) as response:
        assert response.status == status, await response.text()
        answer = DOCUMENT["paths"][template(response.url.path)][method]["responses"][str(status)]
        content = answer["content"]
        if "application/json" not in content:
            assert response.content_type in content
            return None
        body = await response.json()
        schema = {**content["application/json"]["schema"], "components": DOCUMENT["components"]}
        checker = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        checker.validate(body)
        return body


def template(path: str) -> str:
    """The document's path that `path` is an instance of."""
    for documented in DOCUMENT["paths"]:
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", documented), path):
            return documented
    raise AssertionError(f"{path} is not documented")
