"""Canonical columns of the import files and the Vietnamese headers organizers use for them.

Headers are matched after `fold`, so case, diacritics and punctuation do not matter:
"Mã điểm cầu", "MÃ ĐIỂM CẦU" and "Ma diem cau" are the same column.
"""

from __future__ import annotations

from dataclasses import dataclass

from attendance.text import fold


@dataclass(frozen=True)
class Columns:
    kind: str
    required: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]]  # canonical name -> accepted headers (besides itself)

    def canonical(self, header: str) -> str | None:
        folded = fold(header)
        for name, aliases in self.aliases.items():
            if folded in {fold(name), *map(fold, aliases)}:
                return name
        return None


SITE_CODE = ("code", "Mã điểm cầu", "Mã ĐC", "Mã điểm")

SITES = Columns(
    kind="sites",
    required=("site_code", "site_name", "province"),
    aliases={
        "site_code": SITE_CODE,
        "site_name": ("name", "Tên điểm cầu", "Điểm cầu", "Tên"),
        "province": ("Tỉnh/Thành phố", "Tỉnh/TP", "Tỉnh"),
        "district": ("Quận/Huyện", "Quận/Huyện/Thị xã", "Huyện"),
        "commune": ("Xã/Phường", "Xã/Phường/Thị trấn", "Phường/Xã", "Xã"),
        "capacity": ("Sức chứa", "Số chỗ ngồi", "Số chỗ"),
        "stream_url": ("stream", "URL", "Địa chỉ luồng", "Luồng video", "Đường dẫn camera"),
        "timezone": ("Múi giờ",),
    },
)

ROSTER = Columns(
    kind="roster",
    required=("site_code", "person_code", "full_name"),
    aliases={
        "site_code": SITE_CODE,
        "person_code": ("Mã người", "Mã đảng viên", "Mã cán bộ", "Mã định danh", "Mã số"),
        "full_name": ("name", "Họ và tên", "Họ tên"),
        "unit": ("Đơn vị", "Chi bộ"),
        "role": ("Chức vụ",),
        "category": ("Đối tượng", "Phân loại"),
        "exempt": ("Miễn", "Miễn dự", "Được miễn"),
        "exempt_reason": ("Lý do miễn", "Lý do"),
        "consent_biometric": ("consent", "Đồng ý sinh trắc", "Đồng ý nhận diện khuôn mặt"),
    },
)
