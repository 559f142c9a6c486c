"""Input at the edge (issue 14, finding 4): values past any sane bound are a 400 naming the
parameter or field, on SQLite and PostgreSQL, never a 500 from deep inside; and the OpenAPI
document states every bound the edge checks.

Each case once answered 500: a 64-bit offset overflowed the database driver, a year-one
headcount overflowed date arithmetic, 200,000 nested `[` overflowed the JSON parser's
recursion, and PostgreSQL refuses text with a NUL byte.
"""

from __future__ import annotations

from urllib.parse import quote

from attendance.store.db import transaction
from attendance.web.openapi import DOCUMENT
from tests.web.harness import run, serving
from tests.web.test_api import (
    bearer,
    fingerprint,
    quick_passwords,  # noqa: F401 (autouse: applies here too)
    seed,
    session_id,
)
from tests.web.test_api_errors import expect_error

HUGE = 2**63  # one past PostgreSQL's bigint and SQLite's integer
HEADCOUNTS = "/api/v1/sites/HN01/headcounts"
NUL_CODE = quote("HN\x0001")


def _paged_paths(sid: int) -> list[str]:
    """Every API list: they all take `offset`."""
    return [
        "/api/v1/sites",
        "/api/v1/sites/HN01/samples",
        HEADCOUNTS,
        "/api/v1/sites/HN01/roster",
        "/api/v1/sessions",
        f"/api/v1/sessions/{sid}/estimates",
        f"/api/v1/sessions/{sid}/reconciliation",
        f"/api/v1/sessions/{sid}/corrections",
    ]


def _sid(engine) -> int:
    with transaction(engine) as session:
        return session_id(session)


def test_integers_past_their_bounds_are_400(db, engine):
    tokens, sid = seed(engine), _sid(engine)
    too_big = [(f"{path}?offset={HUGE}", "offset") for path in _paged_paths(sid)] + [
        (f"/api/v1/sites/HN01/samples?session={HUGE}", "session"),
        (f"/api/v1/sites/HN01/samples?session={'9' * 5000}", "session"),
        (f"/api/v1/sessions/{2**31}", "id"),
        (f"/api/v1/sessions/{2**31}/corrections", "id"),
    ]

    async def scenario():
        async with serving(db) as web, web.client() as http:
            for path, name in too_big:
                async with http.get(path, headers=bearer(tokens["admin"])) as r:
                    await expect_error(r, 400, f"{name}: expected an integer")

    run(scenario())


def test_a_headcount_far_from_now_is_400(db, engine):
    tokens = seed(engine)
    before = fingerprint(engine)
    times = ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-14:00", "1999-12-31T23:00:00Z"]

    async def scenario():
        async with serving(db) as web, web.client() as http:
            for at in times:
                body = {"count": 3, "at": at}
                async with http.post(HEADCOUNTS, json=body, headers=bearer(tokens["admin"])) as r:
                    await expect_error(r, 400, "at: expected an ISO 8601 time with an offset")

    run(scenario())
    assert fingerprint(engine) == before


def test_deeply_nested_json_is_400(db, engine):
    tokens, sid = seed(engine), _sid(engine)
    before = fingerprint(engine)
    nested = "[" * 200_000
    writes = [HEADCOUNTS, f"/api/v1/sessions/{sid}/corrections", "/api/v1/login"]
    json_type = {"Content-Type": "application/json"} | bearer(tokens["admin"])

    async def scenario():
        async with serving(db) as web, web.client() as http:
            for path in writes:
                async with http.post(path, data=nested, headers=json_type) as r:
                    await expect_error(r, 400, "nested deeper than")
            async with http.post(HEADCOUNTS, data='{"count": NaN}', headers=json_type) as r:
                await expect_error(r, 400, "NaN is not a JSON number")
            brackets_in_text = {"count": 3, "note": "[" * 100}  # text, not nesting
            async with http.post(HEADCOUNTS, json=brackets_in_text, headers=json_type) as r:
                assert r.status == 201, await r.text()

    run(scenario())
    assert fingerprint(engine)[0] == before[0] + 1


def test_nul_and_control_characters_are_400(db, engine):
    """PostgreSQL refuses a NUL byte in text; neither database stores a lone surrogate."""
    tokens, sid = seed(engine), _sid(engine)
    before = fingerprint(engine)
    corrections = f"/api/v1/sessions/{sid}/corrections"
    correction = {"site": "HN01", "value": 2, "reason": "đếm lại"}
    posts = [  # (path, body, what the message must mention)
        ("/api/v1/login", {"username": "admin\x00", "password": "x"}, "username: control"),
        (HEADCOUNTS, {"count": 3, "note": "ghi\x00chú"}, "note: control character U+0000"),
        (HEADCOUNTS, {"count": 3, "note": "\x1b[31m"}, "note: control character U+001B"),
        (HEADCOUNTS, {"count": 3, "note": "\ud800"}, "note: not valid Unicode"),
        (corrections, correction | {"site": "HN\x0001"}, "site: control character"),
        (corrections, correction | {"reason": "vì\x00"}, "reason: control character"),
        (corrections, correction | {"site": "x" * 65}, "site: expected 1–64 characters"),
    ]
    gets = [
        (f"/api/v1/sites/{NUL_CODE}", "code: control character U+0000"),
        (f"/api/v1/sites/{NUL_CODE}/samples", "code: control character"),
        ("/api/v1/sites?q=Ba%00", "q: control character"),
        (f"/api/v1/sites?province={quote('Hà')}%00", "province: control character"),
    ]

    async def scenario():
        async with serving(db) as web, web.client() as http:
            for path, body, mentions in posts:
                async with http.post(path, json=body, headers=bearer(tokens["admin"])) as r:
                    await expect_error(r, 400, mentions)
            for path, mentions in gets:
                async with http.get(path, headers=bearer(tokens["admin"])) as r:
                    await expect_error(r, 400, mentions)
            prose = {"count": 3, "note": "dòng một\r\ndòng hai\tcột"}  # line breaks are prose
            async with http.post(HEADCOUNTS, json=prose, headers=bearer(tokens["admin"])) as r:
                assert r.status == 201, await r.text()

    run(scenario())
    assert fingerprint(engine)[0] == before[0] + 1


def _inputs(document: dict) -> list[tuple[str, dict]]:
    """(where, schema) of every parameter and request body property the API reads itself."""
    found = [
        (f"parameter {p['name']}", p["schema"])
        for p in document["components"]["parameters"].values()
        if p["in"] != "header"  # the CSRF header is only compared with the login's token
    ]
    for path in document["paths"].values():
        for operation in path.values():
            found += [
                (f"parameter {p['name']}", p["schema"])
                for p in operation["parameters"]
                if "$ref" not in p
            ]
    for name, schema in document["components"]["schemas"].items():
        if name.endswith("Input") or name == "Login":
            found += [(f"{name}.{key}", value) for key, value in schema["properties"].items()]
    return found


def test_document_states_every_input_bound():
    inputs = _inputs(DOCUMENT)
    assert len(inputs) >= 17
    for where, schema in inputs:
        schema = next(s for s in schema.get("anyOf", [schema]) if s.get("type") != "null")
        if schema.get("type") == "integer":
            assert {"minimum", "maximum"} <= set(schema), where
        elif "enum" not in schema:
            assert schema["type"] == "string" and ("maxLength" in schema or "format" in schema)
            assert "pattern" in schema or where == "Login.password", where
