"""The OpenAPI 3.1 document of the service, served at /api/openapi.json.

Written by hand beside the handlers: it says what a client may rely on (types, nulls, limits,
errors), more than a generator could read off the code. What a request may carry (parameters,
bodies, their bounds) comes from the definitions the handlers check it with. Tests validate it,
check that it names exactly the app's routes, check real responses against its schemas, and
fuzz every operation from it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from attendance.store.models import SampleStatus
from attendance.web import api_sessions, api_sites, live
from attendance.web.api_common import LIMIT, OFFSET, PROVINCE, SITE_CODE
from attendance.web.api_corrections import CORRECTION
from attendance.web.api_headcounts import HEADCOUNT
from attendance.web.api_sessions import RECONCILE_STATUSES
from attendance.web.api_sites import SITE_STATUSES
from attendance.web.auth import COOKIE
from attendance.web.login import LOGIN

routes = web.RouteTableDef()
Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
AUTH = [{"cookieAuth": []}, {"bearerAuth": []}]
ERRORS = {
    400: ("BadRequest", "The request is malformed or a value is out of range."),
    401: ("Unauthorized", "Not signed in, or the token is unknown, revoked or expired."),
    403: (
        "Forbidden",
        "Not allowed for this role, a cookie write without its CSRF token, a sign-in from another "
        "site's page, or /metrics and /readyz without `web.ops_token` or from outside "
        "`web.ops_allow`.",
    ),
    404: ("NotFound", "No such site or session, or a site outside the operator's scope."),
    413: ("PayloadTooLarge", "The body is larger than `web.max_body_kb`."),
    415: ("UnsupportedMediaType", "The body is not application/json."),
    429: (
        "TooManyRequests",
        "Too many failed sign-ins of this user name or from this address; `Retry-After` says how "
        "many seconds until the next try.",
    ),
}
READ_ERRORS = (400, 401, 404)
WRITE_ERRORS = (400, 401, 403, 404, 413, 415)


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _null(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _list(schema: Schema) -> Schema:
    return {"type": "array", "items": schema}


def _object(**properties: Schema) -> Schema:
    """A response object: every property is always there (null when unknown)."""
    return {"type": "object", "required": list(properties), "properties": properties}


def _page(item: str) -> Schema:
    return _object(items=_list(_ref(item)), total=INT, limit=INT, offset=INT)


SITE = {
    "code": STR,
    "name": STR,
    "province": STR,
    "region": {**STR, "description": "Region path, e.g. 'Hà Nội › Quận Ba Đình'."},
    "capacity": _null(INT),
    "timezone": STR,
    "cadence_s": _null(INT),
    "calibration_factor": NUM,
    "enabled": BOOL,
    "registered": INT,
    "exempt": INT,
    "expected": {**INT, "description": "registered − exempt"},
    "status": {"enum": list(SITE_STATUSES), "description": "Live status; `disabled` if so."},
}

REMEMBERED_SHARE = _null(
    {
        **NUM,
        "description": "Share of the figure's counts from seats remembered without a face found "
        "(bowed heads); null where its samples did not record it.",
    }
)

SCHEMAS: dict[str, Schema] = {
    "Error": _object(error=_object(status=INT, message=STR)),
    "Site": _object(**SITE),
    "SiteDetail": _object(**SITE, latest_sample=_null(_ref("Sample"))),
    "Sample": _object(
        id=INT,
        session_id=_null(INT),
        slot=TIME,
        captured_at=_null(TIME),
        status={"enum": list(SampleStatus)},
        face_count=_null(INT),
        remembered=_null(
            {**INT, "description": "Of face_count, seats remembered without a face found."}
        ),
        mode=_null({**STR, "description": "How: calibrate, full, regional, gated, deferred."}),
        error=_null(STR),
    ),
    "Session": _object(
        id=INT,
        conference=STR,
        code=STR,
        name=STR,
        starts_at=TIME,
        ends_at=TIME,
        cadence_s=_null(INT),
    ),
    "Estimate": _object(
        site=STR,
        raw=_null(NUM),
        calibrated=_null(NUM),
        peak=_null(INT),
        median=_null(NUM),
        mean=_null(NUM),
        coverage=_null(NUM),
        quality=_null(STR),
        reasons=_null(_list(STR)),
        evidence=_null({**_list(INT), "description": "Ids of the samples behind the figure."}),
        factor=_null(NUM),
        remembered_share=REMEMBERED_SHARE,
        computed_at=TIME,
    ),
    "Reconciliation": _object(
        code=STR,
        name=STR,
        province=STR,
        registered=INT,
        exempt=INT,
        expected=INT,
        estimated_raw=_null(NUM),
        factor=NUM,
        calibrated=_null({**NUM, "description": "estimated_raw × factor."}),
        corrected=_null({**NUM, "description": "The latest correction's value, if any."}),
        present=_null(
            {**INT, "description": "The corrected figure if any, else the calibrated estimate."}
        ),
        identified=INT,
        unregistered=INT,
        absent=_null(INT),
        rate=_null(NUM),
        status={"enum": list(RECONCILE_STATUSES)},
        quality=STR,
        coverage=NUM,
        peak=_null(INT),
        reasons=_list(STR),
        remembered_share=REMEMBERED_SHARE,
        absent_named=_null({**_list(STR), "description": "Where identification ran."}),
        evidence=_list(INT),
        correction_reason=_null(STR),
        corrected_by=_null(STR),
    ),
    "Correction": _object(
        id=INT,
        site=STR,
        session_id=INT,
        original_value=_null(
            {**NUM, "description": "The calibrated estimate when the correction was made."}
        ),
        value=NUM,
        reason=STR,
        corrected_by=STR,
        created_at=TIME,
    ),
    "CorrectionInput": CORRECTION.schema,
    "RosterEntry": _object(
        person_code=STR,
        full_name=STR,
        unit=_null(STR),
        exempt=BOOL,
        exempt_reason=_null(STR),
        consent_biometric=BOOL,
    ),
    "Headcount": _object(
        id=INT,
        session_id=_null(INT),
        counted_at=TIME,
        count=INT,
        counted_by=STR,
        note=_null(STR),
        created_at=TIME,
    ),
    "HeadcountInput": HEADCOUNT.schema,
    "HeadcountRecorded": _object(
        headcount=_ref("Headcount"),
        factor=_null({**NUM, "description": "The new calibration factor, if it could be set."}),
        message=STR,
    ),
    "Login": LOGIN.schema,
    "LoginResult": _object(
        username=STR, csrf_token={**STR, "description": "Send as X-CSRF-Token on writes."}
    ),
    "Health": _object(status=STR),
    "Ready": _object(status={"enum": ["ready", "not ready"]}, problems=_list(STR)),
}


PARAMETERS = {
    "limit": LIMIT.spec,
    "offset": OFFSET.spec,
    "code": SITE_CODE.spec,
    "id": api_sessions.SESSION.spec,
    "province": PROVINCE.spec,
    "csrf": {
        "name": "X-CSRF-Token",
        "in": "header",
        "schema": STR,
        "description": "The login's CSRF token; required with a cookie login.",
    },
}


def _use(*names: str) -> list[Schema]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def _operation(
    summary: str,
    ok: dict[int, tuple[str, Schema]],
    errors: tuple[int, ...] = READ_ERRORS,
    parameters: list[Schema] = (),
    body: Schema | None = None,
    security: list | None = None,
) -> Schema:
    responses = {str(code): {"description": say, **content} for code, (say, content) in ok.items()}
    for code in errors:
        responses[str(code)] = {"$ref": f"#/components/responses/{ERRORS[code][0]}"}
    operation = {"summary": summary, "parameters": list(parameters), "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    if security is not None:
        operation["security"] = security
    return operation


def _listing(summary: str, item: str, *parameters: Schema) -> Schema:
    return _operation(summary, {200: ("One page.", _json(_page(item)))}, parameters=parameters)


RECONCILE_FILTERS = (
    *_use("id", "province", "limit", "offset"),
    api_sessions.STATUS.spec,
)

PATHS = {
    "/api/v1/login": {
        "post": _operation(
            "Sign in: sets the login cookie and returns the CSRF token for later writes.",
            {200: ("Signed in.", _json(_ref("LoginResult")))},
            (400, 401, 403, 413, 415, 429),
            body=_ref("Login"),
            security=[],
        )
    },
    "/api/v1/logout": {
        "post": _operation(
            "Sign out: ends the cookie's login session.",
            {200: ("Signed out.", _json(_object(signed_out=BOOL)))},
            (403,),
            _use("csrf"),
            security=[],
        )
    },
    "/api/v1/live": {
        "get": {
            **_operation(
                "Live counts (WebSocket).",
                {101: ("Switching to the WebSocket protocol.", {})},
                (400, 401),  # 400: a GET that asks for no WebSocket
            ),
            "description": "Upgrade to a WebSocket. The server sends "
            '`{"type": "snapshot", "columns": [...], "rows": [[...], ...]}` with the sites the '
            'caller may see, then `{"type": "delta", "columns": [...], "rows": [[...], ...]}` '
            "with changed sites only, at most one per `web.live_interval_s`. Each row holds a "
            "site's values in the order of `columns`: "
            + ", ".join(f"`{name}`" for name in live.COLUMNS)
            + "; read them by column name. Send the text `resync` for a new snapshot.",
        }
    },
    "/api/v1/sites": {
        "get": _listing(
            "Sites by code, with roster sizes and live status.",
            "Site",
            *_use("province", "limit", "offset"),
            api_sites.SEARCH.spec,
            api_sites.STATUS.spec,
        )
    },
    "/api/v1/sites/{code}": {
        "get": _operation(
            "A site with its latest sample and its calibration factor.",
            {200: ("The site.", _json(_ref("SiteDetail")))},
            parameters=_use("code"),
        )
    },
    "/api/v1/sites/{code}/samples": {
        "get": _listing(
            "The site's samples, newest first.",
            "Sample",
            *_use("code", "limit", "offset"),
            api_sites.OF_SESSION.spec,
        )
    },
    "/api/v1/sites/{code}/headcounts": {
        "get": _listing(
            "The site's manual headcounts, latest first.",
            "Headcount",
            *_use("code", "limit", "offset"),
        ),
        "post": _operation(
            "Record a manual headcount; it calibrates the site's estimates. "
            "Admins, organizers and the site's operators.",
            {201: ("Recorded.", _json(_ref("HeadcountRecorded")))},
            WRITE_ERRORS,
            _use("code", "csrf"),
            body=_ref("HeadcountInput"),
        ),
    },
    "/api/v1/sites/{code}/roster": {
        "get": _listing(
            "The site's active roster, by person code.",
            "RosterEntry",
            *_use("code", "limit", "offset"),
        ),
    },
    "/api/v1/sessions": {
        "get": _listing("Conference sessions, latest first.", "Session", *_use("limit", "offset"))
    },
    "/api/v1/sessions/{id}": {
        "get": _operation(
            "A conference session.",
            {200: ("The session.", _json(_ref("Session")))},
            parameters=_use("id"),
        )
    },
    "/api/v1/sessions/{id}/estimates": {
        "get": _listing(
            "The session's stored estimates, by site code.",
            "Estimate",
            *_use("id", "limit", "offset"),
        ),
    },
    "/api/v1/sessions/{id}/reconciliation": {
        "get": _listing(
            "Every visible site's reconciliation with its roster, recomputed now; nothing is "
            "stored.",
            "Reconciliation",
            *RECONCILE_FILTERS,
        ),
        "post": _operation(
            "As the GET, and the estimates stored; a change is audited as the caller's. "
            "Admins and organizers.",
            {200: ("One page.", _json(_page("Reconciliation")))},
            (400, 401, 403, 404),
            [*RECONCILE_FILTERS, *_use("csrf")],
        ),
    },
    "/api/v1/sessions/{id}/corrections": {
        "get": _listing(
            "The session's corrections of site figures, latest first.",
            "Correction",
            *_use("id", "limit", "offset"),
        ),
        "post": _operation(
            "Set a site's figure for the session, with a reason; the estimate is kept beside "
            "it and the change is audited. Admins and organizers.",
            {201: ("Recorded.", _json(_ref("Correction")))},
            WRITE_ERRORS,
            _use("id", "csrf"),
            body=_ref("CorrectionInput"),
        ),
    },
    "/api/openapi.json": {
        "get": _operation(
            "This document.",
            {200: ("OpenAPI 3.1.", _json({"type": "object"}))},
            (),
            security=[],
        )
    },
    "/healthz": {
        "get": _operation(
            "Liveness: the process answers.",
            {200: ("Alive.", _json(_ref("Health")))},
            (),
            security=[],
        )
    },
    "/readyz": {
        "get": _operation(
            "Readiness: the database answers, no sample writer is failing to store and, during "
            "a session, samples arrive.",
            {200: ("Ready.", _json(_ref("Ready"))), 503: ("Not ready.", _json(_ref("Ready")))},
            (403,),
            security=[],
        )
    },
    "/metrics": {
        "get": _operation(
            "Prometheus metrics.",
            {200: ("Metrics in the text exposition format.", {"content": {"text/plain": {}}})},
            (403,),
            security=[],
        )
    },
}

DOCUMENT: Schema = {
    "openapi": "3.1.0",
    "info": {
        "title": "attendance",
        "version": "1",
        "description": "Who is present at every site of a multi-point video conference. "
        "Reads need a signed-in user (login cookie) or an API token (`attendance users token`); "
        "operators see only their sites, auditors read everything and write nothing. Writes "
        "with a login cookie carry its CSRF token in `X-CSRF-Token`.",
    },
    "security": AUTH,
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "parameters": PARAMETERS,
        "responses": {
            name: {"description": text, **_json(_ref("Error"))} for name, text in ERRORS.values()
        },
        "securitySchemes": {
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": COOKIE},
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token."},
        },
    },
}


@routes.get("/api/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
