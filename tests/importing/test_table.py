"""Reading files as organizers' tools write them."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from openpyxl import Workbook

from attendance.errors import BadInput
from attendance.importing.columns import ROSTER, SITES
from attendance.importing.table import read_table

VIETNAMESE_HEADER = "STT,Mã điểm cầu,Mã đảng viên,Họ và tên,Đơn vị,Miễn,Ghi chú\n"
ROW = "1,DC01001,DV1,Trần Thị Hằng,Chi bộ 1,x,ghi chú\n"


def _rows(table):
    return [(number, cells["full_name"], cells["exempt"]) for number, cells in table.rows]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ","), ("utf-8-sig", ";"), ("utf-16", "\t")],
)
def test_text_encodings_and_delimiters(tmp_path: Path, encoding: str, delimiter: str):
    path = tmp_path / "roster.csv"
    path.write_text((VIETNAMESE_HEADER + ROW).replace(",", delimiter), encoding=encoding)
    table = read_table(path, ROSTER)
    assert _rows(table) == [(2, "Trần Thị Hằng", "x")]
    assert table.headers["full_name"] == "Họ và tên"
    assert table.ignored == ["STT", "Ghi chú"]


def test_decomposed_text_is_normalised_to_nfc(tmp_path: Path):
    path = tmp_path / "roster.csv"
    path.write_text(unicodedata.normalize("NFD", VIETNAMESE_HEADER + ROW), encoding="utf-8")
    table = read_table(path, ROSTER)
    name = next(table.rows)[1]["full_name"]
    assert name == "Trần Thị Hằng"
    assert unicodedata.is_normalized("NFC", name)


def test_excel_with_title_rows_numbers_and_blank_lines(tmp_path: Path):
    book = Workbook()
    sheet = book.active
    sheet.append(["DANH SÁCH ĐIỂM CẦU"])
    sheet.append([])
    sheet.append(["Mã điểm cầu", "Tên điểm cầu", "Tỉnh", "Sức chứa"])
    sheet.append(["DC01001", "Hội trường", "Hà Nội", 120])
    sheet.append([None, None, None, None])
    sheet.append(["DC01002", " Hội trường 2 ", "Hà Nội", 80.0])
    path = tmp_path / "sites.xlsx"
    book.save(path)
    table = read_table(path, SITES)
    assert table.header_row == 3
    assert [(n, c["site_code"], c["site_name"], c["capacity"]) for n, c in table.rows] == [
        (4, "DC01001", "Hội trường", "120"),
        (6, "DC01002", "Hội trường 2", "80"),
    ]


def test_chosen_sheet_and_unknown_sheet(tmp_path: Path):
    book = Workbook()
    book.active.title = "Ghi chú"
    other = book.create_sheet("Điểm cầu")
    other.append(["site_code", "site_name", "province"])
    other.append(["A1", "Site", "Huế"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    assert next(read_table(path, SITES, sheet="Điểm cầu").rows)[1]["site_code"] == "A1"
    with pytest.raises(BadInput, match=r"no sheet 'Sheet9'; sheets: Ghi chú, Điểm cầu"):
        read_table(path, SITES, sheet="Sheet9")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.csv", b"site_code,site_name\nA,B\n", "no header row with the required columns"),
        ("x.csv", b"site_code,site_name,province\nA,\xe0\xa0,B\n", "line 2: not valid UTF-8"),
        ("x.pdf", b"%PDF", "unsupported file type .pdf"),
        ("x.xlsx", b"not a zip", "cannot read as a spreadsheet"),
        ("x.csv", b"code,site_code,site_name,province\n", "columns 'code' and 'site_code'"),
    ],
)
def test_unreadable_files_are_explained(tmp_path: Path, name: str, content: bytes, message: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadInput, match=message) as error:
        read_table(path, SITES)
    assert str(path) in str(error.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(BadInput, match="file not found"):
        read_table(tmp_path / "none.csv", SITES)
