"""Spreadsheets for organizers: reconciliation and make-up lists, with Vietnamese headers.

"Có mặt" is the figure that counts: an organizer's correction where there is one, else the
calibrated estimate; both stay in their own columns, with who corrected and why.

CSV is UTF-8 with a BOM, so Excel opens Vietnamese names correctly; XLSX is written in
openpyxl's streaming mode so 12,000 sites do not need the whole workbook in memory.

Names and reasons come from organizers' files and the API: text a spreadsheet would evaluate
(`=HYPERLINK(…)`) is written as text in both formats (`attendance.formulas`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from attendance.formulas import csv_text, is_formula_like
from attendance.results.makeup import Makeup
from attendance.results.reconcile import SiteResult

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

RECONCILE_COLUMNS = {
    "code": "Mã điểm cầu",
    "name": "Tên điểm cầu",
    "province": "Tỉnh/Thành phố",
    "registered": "Số đăng ký",
    "exempt": "Số miễn",
    "expected": "Số phải dự",
    "present": "Có mặt",
    "estimated_raw": "Ước tính chưa hiệu chỉnh",
    "factor": "Hệ số hiệu chỉnh",
    "calibrated": "Ước tính theo hệ số",
    "corrected": "Số hiệu chỉnh",
    "correction_reason": "Lý do hiệu chỉnh",
    "corrected_by": "Người hiệu chỉnh",
    "identified": "Nhận diện được",
    "unregistered": "Không đăng ký",
    "absent": "Vắng",
    "rate": "Tỷ lệ tham dự",
    "status": "Trạng thái",
    "quality": "Chất lượng số liệu",
    "coverage": "Độ phủ mẫu",
    "peak": "Cao nhất",
    "reasons": "Lý do",
    "absent_named": "Người vắng (mã)",
    "evidence": "Mẫu làm căn cứ",
}
MAKEUP_COLUMNS = {
    "unit": "Đơn vị",
    "site_code": "Mã điểm cầu",
    "site_name": "Tên điểm cầu",
    "person_code": "Mã cán bộ",
    "full_name": "Họ và tên",
    "basis": "Căn cứ",
}


ATTENDED_COLUMNS = {
    "person_code": "Mã cán bộ",
    "full_name": "Họ và tên",
    "site_code": "Mã điểm cầu",
    "count": "Số buổi đã dự",
    "sessions": "Các buổi đã dự",
}


def reconcile_rows(results: Iterable[SiteResult]) -> list[list[Any]]:
    return [[_cell(getattr(result, key)) for key in RECONCILE_COLUMNS] for result in results]


def makeup_sheets(makeup: Makeup) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The make-up list, and the sessions each identified person attended."""
    return {
        "Danh sách học bù": _sheet(MAKEUP_COLUMNS, makeup.rows),
        "Buổi đã dự": _sheet(ATTENDED_COLUMNS, makeup.attended),
    }


def _sheet(columns: dict[str, str], rows) -> tuple[list[str], list[list[Any]]]:
    return list(columns.values()), [[getattr(row, key) for key in columns] for row in rows]


def write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerows([csv_text(value) for value in row] for row in rows)


def write_xlsx(
    path: Path, sheets: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]]
) -> None:
    workbook = Workbook(write_only=True)
    for title, (headers, rows) in sheets.items():
        sheet = workbook.create_sheet(title)
        sheet.append(list(headers))
        for row in rows:
            sheet.append([_xlsx_cell(sheet, value) for value in row])
    workbook.save(path)


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """Formula-like text as a string cell: openpyxl would store `=…` as a live formula."""
    if not is_formula_like(value):
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    return cell


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return value
