"""Reading a request's input through the API's field definitions: parameters of the path and
the query, and JSON bodies, whose nesting is bounded before they are parsed.

`json.loads` recurses once per level: 200,000 nested `[` raise RecursionError (a 500), so the
depth is counted over the raw bytes first, without recursion.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from attendance.web.api_fields import Body, Field, Schema

MAX_DEPTH = 8  # our bodies are flat objects; this leaves room and stays far below recursion
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_OPENING, _CLOSING = b"[{", b"]}"
_NOT_BRACKET = bytes(set(range(256)) - set(_OPENING + _CLOSING))


@dataclass(frozen=True)
class Parameter:
    """A path or query parameter; an absent one reads as its default."""

    name: str
    where: str  # "path" or "query"
    field: Field
    description: str
    default: Any = None

    def read(self, request: web.Request) -> Any:
        source = request.match_info if self.where == "path" else request.query
        text = source.get(self.name)
        return self.default if text is None else self.field.parse(self.name, text)

    @property
    def spec(self) -> Schema:
        """Its OpenAPI Parameter Object."""
        schema = self.field.schema
        if self.default is not None:
            schema = {**schema, "default": self.default}
        spec = {
            "name": self.name,
            "in": self.where,
            "schema": schema,
            "description": self.description,
        }
        return (spec | {"required": True}) if self.where == "path" else spec


async def read_body(request: web.Request, body: Body) -> dict[str, Any]:
    """The request's JSON object with its fields checked, or 4xx saying what is wrong."""
    return body.check(await json_value(request))


async def json_value(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send the body as application/json")
    raw = await request.read()  # at most web.max_body_kb, else 413
    if _depth_exceeds(raw, MAX_DEPTH):
        raise web.HTTPBadRequest(text=f"the body is nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except ValueError as exc:  # UnicodeDecodeError too
        raise web.HTTPBadRequest(text=f"the body is not valid JSON: {exc}") from None


def _depth_exceeds(raw: bytes, limit: int) -> bool:
    """Brackets outside strings, counted in one pass; the count stops at the limit."""
    depth = 0
    for byte in _STRING.sub(b"", raw).translate(None, _NOT_BRACKET):
        depth += 1 if byte in _OPENING else -1
        if depth > limit:
            return True
    return False


def _no_constant(name: str) -> None:
    """NaN and Infinity are not JSON, though Python's parser takes them."""
    raise ValueError(f"{name} is not a JSON number")
