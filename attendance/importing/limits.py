"""Refusing files that would exhaust memory, before a reader sees them (issue 14).

calamine, our spreadsheet reader, builds a dense grid from the first to the last cell it finds:
one cell at XFD1048576 asks for 17 billion cells and aborts the process (a Rust panic, no
message), from a 1.6 KB file. It places cells where their `r="XFD1048576"` (or, without one,
their order) puts them, whatever the sheet's `<dimension>` declares, so the declaration is not
trusted: the sheet itself is scanned, as it inflates, for the furthest row and column a cell
reaches. The inflated bytes are counted rather than taken from the zip's directory, which may lie.
"""

from __future__ import annotations

import copy
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import unescape

from attendance.config import ImportSettings
from attendance.errors import BadInput

MB = 1024 * 1024
CHUNK = MB
ZIPPED = {".xlsx", ".xlsm", ".ods"}
OOXML_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
OOXML_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"

PREFIXED_TAG = re.compile(rb"<[\w.-]+:")


@dataclass(frozen=True)
class XlsxPatterns:
    """Rows and cells with and without an `r`; `<x:c>` as well as `<c>` where tags carry a
    namespace prefix (scanning for the prefix costs twice the time, so only then)."""

    row: re.Pattern[bytes]
    row_number: re.Pattern[bytes]
    cell: re.Pattern[bytes]
    cell_ref: re.Pattern[bytes]

    @classmethod
    def compile(cls, prefix: bytes) -> XlsxPatterns:
        return cls(
            row=re.compile(prefix + rb"row[\s/>]"),
            row_number=re.compile(prefix + rb"row\s[^>]*?\br\s*=\s*[\"'](\d+)"),
            cell=re.compile(prefix + rb"c[\s/>]"),
            cell_ref=re.compile(prefix + rb"c\s[^>]*?\br\s*=\s*[\"']([A-Za-z]+)(\d+)"),
        )


PLAIN, PREFIXED = XlsxPatterns.compile(b"<"), XlsxPatterns.compile(rb"<(?:[\w.-]+:)?")
ODS_TAG = re.compile(
    rb"<(/?)(?:[\w.-]+:)?(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>"
)
ODS_NAME = re.compile(rb"(?:^|\s)(?:[\w.-]+:)?name\s*=\s*([\"'])(.*?)\1")
ODS_ROWS_REPEATED = re.compile(rb"number-rows-repeated\s*=\s*[\"'](\d+)")
ODS_COLUMNS_REPEATED = re.compile(rb"number-columns-repeated\s*=\s*[\"'](\d+)")


@dataclass
class Extent:
    """The furthest row and column (1-based) at which a reader would place a cell."""

    rows: int = 0
    columns: int = 0

    def reach(self, row: int, column: int) -> None:
        self.rows, self.columns = max(self.rows, row), max(self.columns, column)


def check_file(path: Path, sheet: str | None, limits: ImportSettings) -> None:
    """Refuse `path` (BadInput naming the file, sheet, limit and what was found) if reading the
    sheet would exceed the import limits; a file that passes can be read safely."""
    size, limit = path.stat().st_size, limits.max_unpacked_mb * MB
    if size > limit:
        raise BadInput(f"{path}: {_mb(size)} MB, more than {_limit_text(limits)}")
    if path.suffix.lower() in ZIPPED:
        with _open_zip(path) as archive:
            _check_archive(path, archive, sheet, limits)


def _check_archive(
    path: Path, archive: zipfile.ZipFile, sheet: str | None, limits: ImportSettings
) -> None:
    members = archive.infolist()
    declared = sum(member.file_size for member in members)
    if declared > limits.max_unpacked_mb * MB:
        raise BadInput(f"{path}: {_mb(declared)} MB uncompressed, more than {_limit_text(limits)}")
    scanner: _Scanner
    if path.suffix.lower() == ".ods":
        part, scanner = "content.xml", OdsScanner(path)
    else:
        part, name = _xlsx_sheet_part(path, archive, sheet)
        scanner = XlsxScanner(path, name)
    inflated = 0
    for member in members:
        feed = scanner.feed if member.filename == part else None
        inflated += _inflate(path, archive, member, inflated, limits, feed)
    scanner.finish()
    for name, extent in scanner.extents.items():
        _check_extent(path, name, extent, limits)


def _check_extent(path: Path, sheet: str, extent: Extent, limits: ImportSettings) -> None:
    if extent.rows > limits.max_rows:
        raise BadInput(
            f"{path}: sheet {sheet!r} has a cell in row {extent.rows:,}, beyond the limit of "
            f"{limits.max_rows:,} rows (imports.max_rows); delete the stray cells or raise it"
        )
    if extent.columns > limits.max_columns:
        raise BadInput(
            f"{path}: sheet {sheet!r} has a cell in column {column_letters(extent.columns)} "
            f"({extent.columns:,}), beyond the limit of {limits.max_columns:,} columns "
            "(imports.max_columns); delete the stray cells or raise it"
        )
    if extent.rows * extent.columns > limits.max_cells:
        raise BadInput(
            f"{path}: sheet {sheet!r} spans {extent.rows:,} rows × {extent.columns:,} columns, "
            f"more than the limit of {limits.max_cells:,} cells (imports.max_cells), which the "
            "reader would hold at once; delete the stray cells or raise it"
        )


def _inflate(
    path: Path,
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    inflated: int,
    limits: ImportSettings,
    feed: Callable[[bytes], None] | None,
) -> int:
    """Inflate one member to its real end (not the size its entry declares) while the archive,
    `inflated` bytes so far, stays within the limit; pass the bytes to `feed`. Returns how many
    there were."""
    budget = limits.max_unpacked_mb * MB - inflated
    unbounded = copy.copy(member)
    unbounded.file_size = budget + 1  # zipfile stops at the declared size; we want the truth
    count = 0
    try:
        with archive.open(unbounded) as stream:
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                count += len(chunk)
                if count > budget:
                    raise BadInput(
                        f"{path}: uncompressed, more than {_limit_text(limits)}, reached in "
                        f"{member.filename} (which declares {member.file_size:,} bytes)"
                    )
                if feed is not None:
                    feed(chunk)
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:
        raise BadInput(f"{path}: damaged archive member {member.filename}: {exc}") from None
    if count != member.file_size:
        raise BadInput(
            f"{path}: {member.filename} declares {member.file_size:,} bytes but holds "
            f"{count:,}: a damaged or crafted file"
        )
    return count


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadInput(f"{path}: cannot read as a spreadsheet: {exc}") from None


def _xlsx_sheet_part(path: Path, archive: zipfile.ZipFile, sheet: str | None) -> tuple[str, str]:
    """The zip member holding the sheet calamine will read: `sheet`, or the workbook's first."""
    try:
        sheets = dict(_xlsx_sheets(archive))
        targets = dict(_xlsx_relationships(archive))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile) as exc:
        raise BadInput(f"{path}: cannot read as a spreadsheet: {exc}") from None
    if not sheets:
        raise BadInput(f"{path}: cannot read as a spreadsheet: the workbook lists no sheets")
    name = sheet if sheet in sheets else next(iter(sheets))
    target = targets.get(sheets[name], "")
    part = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return posixpath.normpath(part), name


def _xlsx_sheets(archive: zipfile.ZipFile) -> Iterator[tuple[str, str]]:
    """(name, relationship id) of each sheet, read up to the end of `<sheets>` only."""
    with archive.open("xl/workbook.xml") as stream:
        for _, element in ElementTree.iterparse(stream):
            if element.tag == OOXML_MAIN + "sheet":
                yield element.get("name", ""), element.get(OOXML_REL, "")
            elif element.tag == OOXML_MAIN + "sheets":
                return


def _xlsx_relationships(archive: zipfile.ZipFile) -> Iterator[tuple[str, str]]:
    with archive.open("xl/_rels/workbook.xml.rels") as stream:
        for _, element in ElementTree.iterparse(stream):
            if element.tag == PACKAGE_REL:
                yield element.get("Id", ""), element.get("Target", "")
            element.clear()


class _Scanner:
    """Takes an XML stream in chunks and scans them whole tags at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.extents: dict[str, Extent] = {}
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk if self._tail else chunk
        cut = data.rfind(b"<")
        if cut == -1 or data.find(b">", cut) != -1:
            self._tail = b""  # every tag in `data` is complete
            self.scan(data)
            return
        self._tail = data[cut:]
        if len(self._tail) > CHUNK:  # no writer makes such tags; scanning them would be slow
            raise BadInput(f"{self.path}: an XML tag longer than {CHUNK:,} bytes")
        self.scan(data[:cut])

    def finish(self) -> None:
        self.scan(self._tail)
        self._tail = b""

    def scan(self, data: bytes) -> None:
        raise NotImplementedError


class XlsxScanner(_Scanner):
    """The furthest row and column of an OOXML sheet, bounded from above.

    Most writers give every row and cell an `r`; a row without one follows the row before it,
    a cell without one the cell before it. Counting those (rows overall, cells per row) on top of
    the furthest explicit reference bounds every position without parsing the XML, at the speed
    of a regular expression.
    """

    def __init__(self, path: Path, sheet: str):
        super().__init__(path)
        self.extent = self.extents[sheet] = Extent()
        self.explicit = Extent()
        self.implied_rows = 0
        self.implied_columns = 0  # the most cells without `r` in one row
        self._row_implied = 0  # in the row the last chunk ended in

    def scan(self, data: bytes) -> None:
        tags = PREFIXED if PREFIXED_TAG.search(data) else PLAIN
        rows = tags.row_number.findall(data)
        self.implied_rows += len(tags.row.findall(data)) - len(rows)
        refs = tags.cell_ref.findall(data)
        if rows:
            self.explicit.reach(max(map(int, rows)), 0)
        if refs:
            column = max(map(column_number, {letters.upper() for letters, _ in refs}))
            self.explicit.reach(max(int(row) for _, row in refs), column)
        if len(tags.cell.findall(data)) > len(refs):
            self._count_implied_cells(data, tags)
        elif tags.row.search(data):
            self._row_implied = 0
        self.extent.rows = self.explicit.rows + self.implied_rows
        self.extent.columns = self.explicit.columns + self.implied_columns

    def _count_implied_cells(self, data: bytes, tags: XlsxPatterns) -> None:
        pieces = tags.row.split(data)
        counts = [len(tags.cell.findall(p)) - len(tags.cell_ref.findall(p)) for p in pieces]
        counts[0] += self._row_implied  # the row the previous chunk ended in goes on
        self.implied_columns = max(self.implied_columns, *counts)
        self._row_implied = counts[-1]


class OdsScanner(_Scanner):
    """The furthest row and column with content in each table of an OpenDocument spreadsheet.

    Every table is measured (one stream holds them all, and a table's name is not worth
    decoding exactly as the reader does). Repeated rows and cells (`number-rows-repeated=
    "1048000"`) are what LibreOffice writes for the empty rest of a sheet, so they count only
    where they hold something: a value type or any content.
    """

    def __init__(self, path: Path):
        super().__init__(path)
        self.extent = Extent()
        self._row = 0
        self._rows_repeated = 1
        self._column = 0
        self._row_reach = 0

    def scan(self, data: bytes) -> None:
        for match in ODS_TAG.finditer(data):
            closing, tag, attributes, empty = match.groups()
            if tag == b"table":
                self._table(closing, attributes)
            elif tag == b"table-row":
                self._table_row(closing, attributes, empty)
            elif not closing:
                self._cell(attributes, empty)

    def _table(self, closing: bytes, attributes: bytes) -> None:
        if closing:
            return
        found = ODS_NAME.search(attributes)
        name = unescape(found[2].decode(errors="replace")) if found else ""
        self.extent = self.extents.setdefault(name or f"#{len(self.extents) + 1}", Extent())
        self._row = 0

    def _table_row(self, closing: bytes, attributes: bytes, empty: bytes) -> None:
        if not closing:
            self._column, self._row_reach = 0, 0
            self._rows_repeated = _repeat(ODS_ROWS_REPEATED, attributes)
        if closing or empty:
            if self._row_reach:
                self.extent.reach(self._row + self._rows_repeated, self._row_reach)
            self._row += self._rows_repeated

    def _cell(self, attributes: bytes, empty: bytes) -> None:
        repeated = _repeat(ODS_COLUMNS_REPEATED, attributes)
        if not empty or b"value-type" in attributes:
            self._row_reach = self._column + repeated
        self._column += repeated


def _repeat(pattern: re.Pattern[bytes], attributes: bytes) -> int:
    found = pattern.search(attributes)
    return int(found[1]) if found else 1


def column_number(letters: str | bytes) -> int:
    """`A` → 1, `XFD` → 16384."""
    number = 0
    for letter in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def column_letters(number: int) -> str:
    """16384 → `XFD`."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _mb(size: int) -> str:
    return f"{size / MB:,.1f}"


def _limit_text(limits: ImportSettings) -> str:
    return f"the limit of {limits.max_unpacked_mb:,} MB (imports.max_unpacked_mb)"
