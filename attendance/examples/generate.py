"""Reproducible example sites and rosters: the files in configs/examples, tests and benchmarks.

The same seed always gives the same rows. Sites are spread evenly over the 63 provinces: each
province has its hall, then one hall per district, then commune halls.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from pathlib import Path

from attendance.examples import names

SITE_HEADERS_VI = {
    "site_code": "Mã điểm cầu",
    "site_name": "Tên điểm cầu",
    "province": "Tỉnh/Thành phố",
    "district": "Quận/Huyện",
    "commune": "Xã/Phường",
    "capacity": "Sức chứa",
    "stream_url": "Địa chỉ luồng",
    "timezone": "Múi giờ",
}
ROSTER_HEADERS_VI = {
    "site_code": "Mã điểm cầu",
    "person_code": "Mã đảng viên",
    "full_name": "Họ và tên",
    "unit": "Đơn vị",
    "role": "Chức vụ",
    "category": "Đối tượng",
    "exempt": "Miễn",
    "exempt_reason": "Lý do miễn",
    "consent_biometric": "Đồng ý nhận diện khuôn mặt",
}
DEFAULT_STREAM_BASE = "http://127.0.0.1:8090/cameras"
PROVINCE_NAMES = list(names.PROVINCES)


def example_sites(
    count: int = 900, seed: int = 2026, stream_base: str = DEFAULT_STREAM_BASE
) -> list[dict[str, str]]:
    """`count` sites with canonical column names; codes are DC + province no. + site no."""
    rng = random.Random(seed)
    used_communes: set[tuple[str, str]] = set()
    rows = []
    for index in range(count):
        number, province = divmod(index, len(PROVINCE_NAMES))
        province_name = PROVINCE_NAMES[province]
        districts = names.PROVINCES[province_name]
        code = f"DC{province + 1:02d}{number + 1:03d}"
        district = commune = ""
        if number == 0:
            name, capacity = f"Hội trường Tỉnh ủy {province_name}", rng.randrange(300, 501, 10)
        elif number <= len(districts):
            district = districts[number - 1]
            name, capacity = f"Hội trường {district}", rng.randrange(150, 251, 10)
        else:
            district = districts[number % len(districts)]
            commune = _new_commune(rng, district, used_communes)
            name, capacity = f"Điểm cầu {commune}", rng.randrange(40, 121, 10)
        rows.append(
            {
                "site_code": code,
                "site_name": name,
                "province": province_name,
                "district": district,
                "commune": commune,
                "capacity": str(capacity),
                "stream_url": f"{stream_base}/{code}/snapshot.jpg",
                "timezone": "Asia/Ho_Chi_Minh",
            }
        )
    return rows


def _new_commune(rng: random.Random, district: str, used: set[tuple[str, str]]) -> str:
    while True:
        commune = f"{rng.choice(names.COMMUNE_PREFIXES)} {rng.choice(names.COMMUNE_NAMES)}"
        if (district, commune) not in used:
            used.add((district, commune))
            return commune


def example_roster(
    sites: list[dict[str, str]], seed: int = 2026, people: int | None = None
) -> list[dict[str, str]]:
    """Members for each site, ~85% of its capacity, or scaled so the total is about `people`."""
    rng = random.Random(seed)
    capacities = [int(site["capacity"]) for site in sites]
    scale = 0.85 if people is None else people / max(1, sum(capacities))
    rows = []
    for site, capacity in zip(sites, capacities, strict=True):
        for _ in range(max(1, round(capacity * scale * rng.uniform(0.9, 1.1)))):
            rows.append(_person(rng, site["site_code"], len(rows) + 1))
    return rows


def _person(rng: random.Random, site_code: str, number: int) -> dict[str, str]:
    female = rng.random() < 0.4
    middle = names.MIDDLE_NAMES_FEMALE if female else names.MIDDLE_NAMES_MALE
    given = names.GIVEN_NAMES_FEMALE if female else names.GIVEN_NAMES_MALE
    exempt = rng.random() < 0.04
    return {
        "site_code": site_code,
        "person_code": f"DV{number:07d}",
        "full_name": f"{_weighted(rng, names.SURNAMES)} {rng.choice(middle)} {rng.choice(given)}",
        "unit": rng.choice(names.UNITS).format(n=rng.randint(1, 12)),
        "role": _weighted(rng, names.ROLES),
        "category": _weighted(rng, names.CATEGORIES),
        "exempt": "x" if exempt else "",
        "exempt_reason": rng.choice(names.EXEMPT_REASONS) if exempt else "",
        "consent_biometric": "có" if rng.random() < 0.6 else "không",
    }


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in choices], [weight for _, weight in choices])[0]


def write_table(
    rows: Iterable[dict[str, str]],
    path: Path,
    headers: dict[str, str],
    title: str | None = None,
) -> Path:
    """Write rows as .xlsx, .csv (UTF-8 with BOM, as Excel saves it) or .txt (UTF-16, tabs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ([[title]] if title else []) + [list(headers.values())]
    lines += ([row.get(column, "") for column in headers] for row in rows)
    if path.suffix == ".xlsx":
        from openpyxl import Workbook  # slow to import; only this branch needs it

        book = Workbook(write_only=True)
        sheet = book.create_sheet("Danh sách")
        for line in lines:
            sheet.append(line)
        book.save(path)
    else:
        encoding, delimiter = ("utf-16", "\t") if path.suffix == ".txt" else ("utf-8-sig", ",")
        with path.open("w", encoding=encoding, newline="") as handle:
            csv.writer(handle, delimiter=delimiter).writerows(lines)
    return path


def write_examples(
    out: Path, sites: int = 900, seed: int = 2026, roster_provinces: int = 3
) -> list[Path]:
    """The files of configs/examples: sites as Excel and CSV, and as Excel the roster of the
    first `roster_provinces` provinces (a provincial committee's file, ~5,000 people)."""
    site_rows = example_sites(sites, seed)
    canonical = {name: name for name in SITE_HEADERS_VI}
    in_roster = set(PROVINCE_NAMES[:roster_provinces])
    roster_sites = [site for site in site_rows if site["province"] in in_roster]
    return [
        write_table(
            site_rows, out / "sites.xlsx", SITE_HEADERS_VI, "DANH SÁCH ĐIỂM CẦU HỘI NGHỊ TRỰC TUYẾN"
        ),
        write_table(site_rows, out / "sites.csv", canonical),
        write_table(example_roster(roster_sites, seed), out / "roster.xlsx", ROSTER_HEADERS_VI),
    ]
