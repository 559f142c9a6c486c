"""What an import found wrong, and what it would change."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from attendance.errors import BadInput
from attendance.importing.capped import Capped
from attendance.importing.table import Cell, file_sha256
from attendance.store import audit_log
from attendance.text import shorten

MAX_LISTED = 20
MAX_ERRORS = 100
T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # the header as written in the file
    value: str
    reason: str

    def __str__(self) -> str:
        value = shorten(self.value)
        return f"row {self.row}, column {shorten(self.column)!r}, value {value!r}: {self.reason}"


def row_errors() -> Capped[RowError]:
    """Where a validation collects its errors: every one counted, the first MAX_ERRORS kept."""
    return Capped(MAX_ERRORS)


class ImportRejected(BadInput):
    """Bad rows were found; nothing was written. Lists the first errors and counts them all."""

    def __init__(self, path: Path, errors: Capped[RowError]):
        self.path = path
        self.errors = errors.items
        self.total = errors.total
        lines = [f"  {error}" for error in errors.items]
        if errors.hidden:
            lines.append(f"  … and {errors.hidden} more (the first {errors.keep} are listed)")
        super().__init__(
            f"{path}: {errors.total} problem(s) found, nothing was imported:\n" + "\n".join(lines)
        )


@dataclass
class Plan:
    """The difference between a file and the database, keyed by code."""

    kind: str
    added: list[str] = field(default_factory=list)
    changed: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "unchanged": self.unchanged,
        }

    def summary(self, removed_word: str = "removed") -> str:
        counts = self.counts()
        return (
            f"{counts['added']} added, {counts['changed']} changed, "
            f"{counts['removed']} {removed_word}, {counts['unchanged']} unchanged"
        )

    def note_ignored(self, columns: list[str]) -> None:
        if columns:
            self.notes.append(f"ignored columns: {', '.join(map(shorten, columns))}")

    def note_formulas(self, cells: Capped[Cell]) -> None:
        """Warn about cells a spreadsheet would evaluate; they are imported (exports write them
        as text), but a name such as `=HYPERLINK(…)` is rarely what an organizer meant."""
        reason = "begins with =, +, -, @, tab or CR: a spreadsheet would run it as a formula"
        for row, column, value in cells.items[:MAX_LISTED]:
            self.notes.append(str(RowError(row, column, value, reason)))
        if cells.total > MAX_LISTED:
            self.notes.append(f"… and {cells.total - MAX_LISTED} more cells that begin so")

    def details(self) -> list[str]:
        """Up to MAX_LISTED examples of each kind of change, for `--dry-run`."""
        lines = [f"  + {code}" for code in self.added[:MAX_LISTED]]
        for code, fields in list(self.changed.items())[:MAX_LISTED]:
            diff = "; ".join(f"{name}: {old!r} → {new!r}" for name, (old, new) in fields.items())
            lines.append(f"  ~ {code}: {diff}")
        lines += [f"  - {code}" for code in self.removed[:MAX_LISTED]]
        sizes = (len(self.added), len(self.changed), len(self.removed))
        hidden = sum(max(0, n - MAX_LISTED) for n in sizes)
        if hidden:
            lines.append(f"  … and {hidden} more")
        return lines


def diff(
    existing: dict[str, tuple],
    incoming: dict[str, tuple],
    names: tuple[str, ...],
) -> tuple[list[str], dict[str, dict[str, tuple[Any, Any]]], int]:
    """Compare records by code, each a tuple of the fields `names`.

    Returns the added codes, the changed fields (old, new) per changed code, and how many
    records are unchanged.
    """
    added, changed, unchanged = [], {}, 0
    for code, new in incoming.items():
        old = existing.get(code)
        if old is None:
            added.append(code)
        elif old != new:
            changed[code] = {n: (o, v) for n, o, v in zip(names, old, new, strict=True) if o != v}
        else:
            unchanged += 1
    return added, changed, unchanged


def record_import(session: Session, plan: Plan, path: Path, rows: int, actor: str | None) -> None:
    """The audit event of an import: which file (by SHA-256) changed how many records."""
    payload = {"file": path.name, "sha256": file_sha256(path), "rows": rows, **plan.counts()}
    audit_log.record(session, f"{plan.kind}.import", payload, actor=actor)


def stored_by_code(result: Iterable[tuple]) -> tuple[dict[str, tuple], dict[str, int]]:
    """Split rows of (id, code, *fields) into {code: fields} and {code: id}."""
    existing, ids = {}, {}
    for id_, code, *values in result:
        existing[code] = tuple(values)
        ids[code] = id_
    return existing, ids


def batches(items: Iterable[T], size: int = 5000) -> Iterator[list[T]]:
    """Chunks for bulk writes, so a national roster is never one giant parameter list."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
