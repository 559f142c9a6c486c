"""Reading an organizer's file into rows of canonical columns, whatever tool wrote it.

Accepted: Excel (.xlsx, .xlsm, .xls) and OpenDocument (.ods) through calamine; CSV in UTF-8 with
or without BOM (comma, semicolon or tab separated); Excel's "Unicode Text" (UTF-16, tab
separated). The header may sit below a title block; columns we do not know (STT, Ghi chú) are
ignored and reported. Every cell comes out as an NFC, trimmed string. A file beyond the import
limits is refused before it is read (`limits`); cells that begin like a formula are noted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook

from attendance.config import ImportSettings
from attendance.errors import BadInput
from attendance.formulas import is_formula_like
from attendance.importing.capped import Capped
from attendance.importing.columns import Columns
from attendance.importing.limits import check_file
from attendance.text import nfc, shorten

SPREADSHEETS = {".xlsx", ".xlsm", ".xls", ".ods"}
TEXT_FILES = {".csv", ".txt", ".tsv"}
HEADER_SEARCH_ROWS = 10
FORMULAS_KEPT = 20
Cell = tuple[int, str, str]  # row number, header as written, value


@dataclass
class Table:
    """A file's rows, `(row_number, {canonical column: cell})` numbered as Excel shows them.

    `rows` is read once, lazily, so a 150,000-row roster never sits in memory twice; reading
    them fills `formulas`, the cells a spreadsheet would evaluate.
    """

    path: Path
    header_row: int
    headers: dict[str, str]  # canonical column -> the header as written in the file
    ignored: list[str] = field(default_factory=list)
    rows: Iterator[tuple[int, dict[str, str]]] = field(default_factory=lambda: iter(()))
    formulas: Capped[Cell] = field(default_factory=lambda: Capped(FORMULAS_KEPT))


def read_table(
    path: Path,
    columns: Columns,
    sheet: str | None = None,
    limits: ImportSettings | None = None,
) -> Table:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise BadInput(f"{path}: file not found")
    if suffix in SPREADSHEETS | TEXT_FILES:
        check_file(path, sheet, limits or ImportSettings())
    if suffix in SPREADSHEETS:
        raw = _spreadsheet_rows(path, sheet)
    elif suffix in TEXT_FILES:
        raw = _text_rows(path)
    else:
        accepted = ", ".join(sorted(SPREADSHEETS | TEXT_FILES))
        raise BadInput(f"{path}: unsupported file type {suffix or '(none)'}; expected {accepted}")
    return _to_table(path, raw, columns)


def _spreadsheet_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, list[str]]]:
    try:
        book = CalamineWorkbook.from_path(str(path))
        if sheet is not None and sheet not in book.sheet_names:
            raise BadInput(f"{path}: no sheet {sheet!r}; sheets: {', '.join(book.sheet_names)}")
        data = book.get_sheet_by_name(sheet or book.sheet_names[0])
        rows = data.iter_rows()
    except CalamineError as exc:
        raise BadInput(f"{path}: cannot read as a spreadsheet: {exc}") from None
    first_row = (data.start or (0, 0))[0] + 1  # calamine starts at the first used row
    for number, row in enumerate(rows, start=first_row):
        yield number, [_cell_text(cell) for cell in row]


def _cell_text(cell: object) -> str:
    if type(cell) is str:
        return nfc(cell).strip()
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # Excel stores 120 as 120.0
    if isinstance(cell, datetime | date | time):
        return cell.isoformat()
    return nfc(str(cell)).strip()


def _text_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # Excel's "Unicode Text"
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        content = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInput(
            f"{path}: line {line}: not valid {encoding.upper()} text; save the file as "
            "'CSV UTF-8' or 'Unicode Text' (in a Windows code page, Vietnamese is garbled)"
        ) from None
    del data
    first_line = content.split("\n", 1)[0]
    delimiter = max("\t,;", key=first_line.count)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        for number, row in enumerate(reader, start=1):
            yield number, [nfc(cell).strip() for cell in row]
    except csv.Error as exc:
        raise BadInput(f"{path}: line {reader.line_num}: malformed CSV: {exc}") from None


def _to_table(path: Path, raw: Iterator[tuple[int, list[str]]], columns: Columns) -> Table:
    head = list(itertools.islice(raw, HEADER_SEARCH_ROWS))
    header_row, header = _find_header(path, head, columns)
    positions: dict[str, int] = {}
    table = Table(path=path, header_row=header_row, headers={})
    for position, title in enumerate(header):
        name = columns.canonical(title) if title else None
        if name is None:
            if title:
                table.ignored.append(title)
            continue
        if name in positions:
            raise BadInput(
                f"{path}: row {header_row}: columns {table.headers[name]!r} and {title!r} "
                f"both mean {name}; keep one"
            )
        positions[name] = position
        table.headers[name] = title
    after_header = itertools.chain((line for line in head if line[0] > header_row), raw)
    table.rows = _data_rows(after_header, positions, table)
    return table


def _find_header(
    path: Path, head: list[tuple[int, list[str]]], columns: Columns
) -> tuple[int, list[str]]:
    for number, row in head:
        found = {columns.canonical(cell) for cell in row if cell}
        if set(columns.required) <= found:
            return number, row
    first = next((row for _, row in head if any(row)), [])
    expected = ", ".join(columns.required)
    seen = ", ".join(map(shorten, filter(None, first[:20]))) or "(nothing)"
    raise BadInput(
        f"{path}: no header row with the required columns ({expected}) in the first "
        f"{HEADER_SEARCH_ROWS} rows; the first row has: {seen}. "
        "Accepted headers are listed in README (Import files)."
    )


def _data_rows(
    raw: Iterator[tuple[int, list[str]]], positions: dict[str, int], table: Table
) -> Iterator[tuple[int, dict[str, str]]]:
    for number, row in raw:
        if not any(row):
            continue
        cells = {name: row[pos] if pos < len(row) else "" for name, pos in positions.items()}
        for name, value in cells.items():
            if is_formula_like(value):
                table.formulas.append((number, table.headers[name], value))
        yield number, cells


def file_sha256(path: Path) -> str:
    """The digest recorded in the audit log, so an imported file can be proven later."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
