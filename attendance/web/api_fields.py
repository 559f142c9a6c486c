"""The kinds of value the API accepts, each with its bounds, defined once: a definition both
checks a value at the edge and states its JSON Schema for the OpenAPI document, so the two
cannot disagree.

Without bounds, a value the domain never meant to see fails deep inside as a 500: an integer
past 64 bits in SQL, a year-one date in date arithmetic, a NUL byte in PostgreSQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from attendance.store.types import LARGEST_ID

Schema = dict[str, Any]

MAX_ID = LARGEST_ID  # ids and offsets: nothing near PostgreSQL's integer overflows
# The same patterns check values here and are stated in the document (ECMA and Python read them
# alike): no control characters (NUL included) in a line, tab and line breaks allowed in prose.
LINE = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
PROSE = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
# Years 2000–2099, written in the value: any later arithmetic on such a time stays in range.
MOMENT = "^20[0-9]{2}-"
SHOWN = 40  # characters of a refused value echoed back


class Field:
    """A value the API accepts: `check` returns it as the handler uses it, or raises 400;
    `schema` states it."""

    schema: Schema

    def check(self, name: str, value: Any) -> Any:
        raise NotImplementedError

    def parse(self, name: str, text: str) -> Any:
        """The value of a query or path parameter, which arrives as text."""
        return self.check(name, text)


def refused(name: str, expected: str, got: Any) -> web.HTTPBadRequest:
    shown = repr(got)
    shown = shown if len(shown) <= SHOWN else f"{shown[:SHOWN]}…"
    return web.HTTPBadRequest(text=f"{name}: expected {expected}, got {shown}")


def _described(schema: Schema, description: str) -> Schema:
    return {**schema, "description": description} if description else schema


@dataclass(frozen=True)
class Integer(Field):
    low: int
    high: int
    what: str = "an integer"
    description: str = ""

    @property
    def schema(self) -> Schema:
        bounds = {"type": "integer", "minimum": self.low, "maximum": self.high}
        return _described(bounds, self.description)

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON Schema's integer: 3.0 is one
        if type(value) is not int or not self.low <= value <= self.high:
            raise refused(name, f"{self.what} {self.low}–{self.high}", value)
        return value

    def parse(self, name: str, text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # not digits, or more than Python reads
            raise refused(name, f"{self.what} {self.low}–{self.high}", text) from None
        return self.check(name, value)


@dataclass(frozen=True)
class Text(Field):
    max_length: int
    min_length: int = 0
    pattern: str | None = LINE
    nullable: bool = False
    description: str = ""

    @property
    def schema(self) -> Schema:
        text = {"type": "string", "maxLength": self.max_length}
        if self.pattern:
            text["pattern"] = self.pattern
        if self.min_length:
            text["minLength"] = self.min_length
        text = _described(text, self.description)
        return {"anyOf": [text, {"type": "null"}]} if self.nullable else text

    def check(self, name: str, value: Any) -> str | None:
        if value is None and self.nullable:
            return None
        span = f"{self.min_length}–{self.max_length} characters"
        if not isinstance(value, str):
            raise refused(name, f"a string of {span}", value)
        if not self.min_length <= len(value) <= self.max_length:
            raise web.HTTPBadRequest(text=f"{name}: expected {span}, got {len(value)}")
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise web.HTTPBadRequest(text=f"{name}: {_unwelcome(value, self.pattern)}")
        if not value.isascii() and _has_lone_surrogate(value):
            raise web.HTTPBadRequest(text=f"{name}: not valid Unicode (a lone surrogate)")
        return value


def _unwelcome(value: str, pattern: str) -> str:
    first = next(char for char in value if not re.fullmatch(pattern, char))
    return f"control character U+{ord(first):04X} at {value.index(first)} is not allowed here"


def _has_lone_surrogate(value: str) -> bool:
    """JSON's \\ud800 decodes to a str that neither database can store."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


@dataclass(frozen=True)
class Moment(Field):
    """A time with an offset, as ISO 8601, in UTC once read."""

    description: str = ""

    @property
    def schema(self) -> Schema:
        moment = {"type": "string", "format": "date-time", "pattern": MOMENT}
        return _described(moment, self.description)

    def check(self, name: str, value: Any) -> datetime:
        try:
            at = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            at = None
        if at is None or at.tzinfo is None or not re.match(MOMENT, value):
            raise refused(name, "an ISO 8601 time with an offset, in 2000–2099", value)
        return at.astimezone(UTC)


@dataclass(frozen=True)
class Choice(Field):
    values: tuple[str, ...]
    description: str = ""

    @property
    def schema(self) -> Schema:
        return _described({"type": "string", "enum": list(self.values)}, self.description)

    def check(self, name: str, value: Any) -> str:
        if value not in self.values:
            raise refused(name, f"one of {', '.join(self.values)}", value)
        return value


@dataclass(frozen=True)
class Body:
    """A JSON object body: its fields, which of them are required, and no others."""

    fields: dict[str, Field]
    required: tuple[str, ...]

    @property
    def schema(self) -> Schema:
        return {
            "type": "object",
            "required": list(self.required),
            "additionalProperties": False,
            "properties": {name: field.schema for name, field in self.fields.items()},
        }

    def check(self, body: Any) -> dict[str, Any]:
        """The fields sent, each checked; an absent optional field is absent here too."""
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        if unknown := sorted(set(body) - set(self.fields)):
            raise web.HTTPBadRequest(text=f"unknown field(s): {', '.join(unknown)}")
        if missing := [name for name in self.required if name not in body]:
            raise web.HTTPBadRequest(text=f"missing field(s): {', '.join(missing)}")
        return {name: self.fields[name].check(name, value) for name, value in body.items()}
