"""The printable site report: it renders (poppler draws it), its chart is there, and it carries
the site code and the audit chain head a reader can check the database against later."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from attendance.store.audit_log import chain_head
from attendance.store.db import transaction
from tests.export.world import CODE, REASON, build

BLUE = np.array([0x1F, 0x5F, 0xBF])  # the chart's count line (reports_pdf.COUNT)
RED = np.array([0xC5, 0x22, 0x1F])  # failed grabs


def poppler(tool: str) -> str:
    """Debian's poppler-utils; CI must have it (`apt-get install poppler-utils`)."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} (poppler-utils) must be installed in CI")
        pytest.skip(f"{tool} not installed: apt-get install poppler-utils")
    return path


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_site_report_pdf_has_the_chart_the_figures_and_the_chain_head(cli, db, engine, tmp_path):
    build(cli, db, engine, tmp_path)
    out = tmp_path / "report.pdf"
    done = cli("report", "site", CODE, "--session", "TW10/S1", "--pdf", out, "--db", db)
    assert done.code == 0, done.err
    assert f"report written to {out}" in done.out
    assert out.read_bytes().startswith(b"%PDF")
    with transaction(engine) as session:
        head, events = chain_head(session)

    text = _text(out)
    for expected in (CODE, head, f"Số sự kiện lúc in: {events}", REASON, "Nguyễn Thị Hoa"):
        assert expected in text, expected
    assert "Báo cáo điểm cầu" in text and "Số hiệu chỉnh" in text  # Vietnamese glyphs survive

    page = _first_page(out, tmp_path)
    assert (page < 250).any(axis=2).mean() > 0.01, "the page is blank"
    assert _near(page, BLUE).sum() > 300, "no count line: the chart is missing"
    assert _near(page, RED).sum() > 10, "the failed grabs are not marked"


def _text(pdf: Path) -> str:
    result = subprocess.run(
        [poppler("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, check=True
    )
    return result.stdout.decode()


def _first_page(pdf: Path, folder: Path) -> np.ndarray:
    prefix = folder / "page"
    subprocess.run(
        [poppler("pdftoppm"), "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile",
         str(pdf), str(prefix)],
        check=True,
    )  # fmt: skip
    return np.asarray(Image.open(f"{prefix}.png").convert("RGB")).astype(int)


def _near(page: np.ndarray, colour: np.ndarray) -> np.ndarray:
    return (np.abs(page - colour) < 40).all(axis=2)
