"""Parsers for one cell each: they return the value or raise FieldError saying what was expected."""

from __future__ import annotations

import re

from attendance.config import check_timezone
from attendance.store import sites
from attendance.text import fold

TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "co", "x"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "khong", ""})


class FieldError(ValueError):
    """A cell's value is not acceptable; the message is the reason shown to the user."""


def text(value: str, *, required: bool = False, max_length: int = 300) -> str | None:
    if not value:
        if required:
            raise FieldError("must not be empty")
        return None
    if len(value) > max_length:
        raise FieldError(f"longer than {max_length} characters")
    return value


def code(value: str) -> str:
    """Codes identify records across re-imports, so they must be non-empty and plain."""
    if not value:
        raise FieldError("must not be empty")
    if len(value) > 64 or re.search(r"\s", value):
        raise FieldError("expected a code of at most 64 characters without spaces")
    return value


def boolean(value: str) -> bool:
    folded = fold(value)
    if folded in TRUE_WORDS:
        return True
    if folded in FALSE_WORDS:
        return False
    raise FieldError("expected yes/no, true/false, 1/0, có/không or x (empty means no)")


def count(value: str) -> int | None:
    if not value:
        return None
    if not re.fullmatch(r"\d{1,7}", value):
        raise FieldError("expected a whole number such as 120")
    return int(value)


def stream_url(value: str) -> str | None:
    try:
        return sites.stream_url(value)
    except sites.StreamUrlError as exc:
        raise FieldError(str(exc)) from None


def timezone(value: str, default: str) -> str:
    if not value:
        return default
    try:
        check_timezone(value)
    except ValueError as exc:
        raise FieldError(str(exc)) from None
    return value
