"""Builders for the import files and photos tests feed to the CLI."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from attendance.examples.generate import write_table

SITE_COLUMNS = ("site_code", "site_name", "province", "district", "commune", "capacity",
                "stream_url", "timezone")  # fmt: skip
ROSTER_COLUMNS = ("site_code", "person_code", "full_name", "unit", "role", "category", "exempt",
                  "exempt_reason", "consent_biometric")  # fmt: skip


def site(code: str, **fields: str) -> dict[str, str]:
    return {
        "site_code": code,
        "site_name": f"Điểm cầu {code}",
        "province": "Hà Nội",
        "district": "Quận Ba Đình",
        "commune": "Phường Phúc Xá",
        "capacity": "100",
        "stream_url": f"http://127.0.0.1:8090/cameras/{code}/snapshot.jpg",
        "timezone": "",
        **fields,
    }


def person(site_code: str, code: str, **fields: str) -> dict[str, str]:
    return {
        "site_code": site_code,
        "person_code": code,
        "full_name": "Nguyễn Văn An",
        "unit": "Chi bộ 1",
        "role": "Đảng viên",
        "category": "Đảng viên chính thức",
        "exempt": "",
        "exempt_reason": "",
        "consent_biometric": "có",
        **fields,
    }


def write_sites(path: Path, rows: list[dict[str, str]]) -> Path:
    return write_table(rows, path, {name: name for name in SITE_COLUMNS})


def write_roster(path: Path, rows: list[dict[str, str]]) -> Path:
    return write_table(rows, path, {name: name for name in ROSTER_COLUMNS})


def count_rows(engine, model) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


PHOTOS = Path(__file__).parent / "data" / "photos"  # one real person in each


def side_by_side(*images: np.ndarray) -> np.ndarray:
    """One picture of several people: RGB images in a row, 20 px apart, top-aligned."""
    height = max(image.shape[0] for image in images)
    padded = [np.pad(image, ((0, height - image.shape[0]), (0, 20), (0, 0))) for image in images]
    return np.concatenate(padded, axis=1)


def free_port() -> int:
    """A loopback port nobody listens on now, for a server the test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
