"""Validating every row of a table, collecting every problem before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from attendance.importing.capped import Capped
from attendance.importing.fields import FieldError
from attendance.importing.report import RowError
from attendance.importing.table import Table

T = TypeVar("T")


class RowCheck:
    """Parses the cells of one row; each failure becomes a RowError and the row is marked bad."""

    def __init__(self, table: Table, number: int, cells: dict[str, str], errors: Capped[RowError]):
        self.table, self.number, self.cells, self.errors = table, number, cells, errors
        self.ok = True

    def get(self, column: str, parse: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        value = self.cells.get(column, "")
        try:
            return parse(value, *args, **kwargs)
        except FieldError as exc:
            self.fail(column, str(exc))
            return None

    def fail(self, column: str, reason: str) -> None:
        header = self.table.headers.get(column, column)
        self.errors.append(RowError(self.number, header, self.cells.get(column, ""), reason))
        self.ok = False


def unique_key(check: RowCheck, column: str, key: str | None, seen: dict[str, int]) -> bool:
    """Record `key` as seen in this row; a repeat is an error naming the first row."""
    if key is None:
        return False
    if key in seen:
        check.fail(column, f"duplicate {column.replace('_', ' ')} (first in row {seen[key]})")
        return False
    seen[key] = check.number
    return True
