"""Corrections through the CLI: an organizer's figure replaces the estimate in the
reconciliation while the estimate stays beside it, in JSON, reports and spreadsheets; every
correction is an audit event; values nobody should accept are refused and change nothing."""

from __future__ import annotations

import csv

import openpyxl
from sqlalchemy import func, select

from attendance.store.db import transaction
from attendance.store.models import AuditEvent, Correction
from tests.results.test_reconcile import _prepare, _reconcile, _record, _session_ids

REASON = "Camera chỉ thấy nửa hội trường; ban tổ chức đếm lại"


def test_a_correction_counts_and_the_estimate_stays(cli, db, engine, tmp_path):
    _prepare(cli, db, engine, tmp_path)
    _record(engine, "S1", "A", [5] * 60)  # 5 of 9 expected: under
    _record(engine, "S1", "D", [None] * 60)  # the feed never worked
    first = _correct(cli, db, "A", "7", REASON, "Trần Thị Bình")
    assert first.code == 0, first.err
    assert "estimate 5 → 7" in first.out
    assert _correct(cli, db, "A", "9", "Đếm lần hai sau giờ giải lao", "Lê Văn Cường").code == 0
    assert _correct(cli, db, "D", "4", "Mất hình cả buổi, đếm tay", "Trần Thị Bình").code == 0

    sites = _reconcile(cli, db, "S1")
    a = sites["A"]
    assert (a["estimated_raw"], a["factor"], a["calibrated"]) == (5.0, 1.0, 5.0)
    assert (a["corrected"], a["present"], a["rate"], a["status"]) == (9.0, 9, 1.0, "ok")
    assert (a["correction_reason"], a["corrected_by"]) == (
        "Đếm lần hai sau giờ giải lao",
        "Lê Văn Cường",
    )
    d = sites["D"]  # a correction stands in for a dead feed; the estimate still says no data
    assert (d["calibrated"], d["corrected"], d["present"], d["status"]) == (None, 4.0, 4, "ok")
    assert d["quality"] == "no_data"
    assert sites["B"]["corrected"] is None and sites["B"]["status"] == "no_data"

    sid = _session_ids(engine)["S1"]
    with transaction(engine) as session:
        stored = session.execute(
            select(Correction.original_value, Correction.value, Correction.corrected_by).order_by(
                Correction.id
            )
        ).all()
        events = session.execute(
            select(AuditEvent.actor, AuditEvent.payload, AuditEvent.entity_id)
            .where(AuditEvent.action == "correction")
            .order_by(AuditEvent.id)
        ).all()
    assert stored == [
        (5.0, 7.0, "Trần Thị Bình"),
        (5.0, 9.0, "Lê Văn Cường"),
        (None, 4.0, "Trần Thị Bình"),
    ]
    assert [actor for actor, _, _ in events] == ["Trần Thị Bình", "Lê Văn Cường", "Trần Thị Bình"]
    assert events[0][1] == {
        "site": "A",
        "session": sid,
        "original": 5.0,
        "value": 7.0,
        "reason": REASON,
        "by": "Trần Thị Bình",
    }

    report = cli("report", "site", "A", "--session", "HN/S1", "--db", db)
    assert report.code == 0, report.err
    assert "corrected: 9.0" in report.out and "calibrated: 5.0" in report.out
    assert "correction 5 → 7" in report.out and REASON in report.out


def test_spreadsheets_carry_both_figures_and_the_reason(cli, db, engine, tmp_path):
    _prepare(cli, db, engine, tmp_path)
    _record(engine, "S1", "A", [5] * 60)
    assert _correct(cli, db, "A", "8", REASON, "Trần Thị Bình").code == 0
    out_csv, out_xlsx = tmp_path / "r.csv", tmp_path / "r.xlsx"
    done = cli("reconcile", "--session", "HN/S1", "--csv", out_csv, "--xlsx", out_xlsx, "--db", db)
    assert done.code == 0, done.err
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8-sig")))
    a = next(row for row in rows if row["Mã điểm cầu"] == "A")
    assert (a["Có mặt"], a["Ước tính theo hệ số"], a["Số hiệu chỉnh"]) == ("8", "5.0", "8.0")
    assert (a["Lý do hiệu chỉnh"], a["Người hiệu chỉnh"]) == (REASON, "Trần Thị Bình")
    sheet = openpyxl.load_workbook(out_xlsx).active
    header = [cell.value for cell in sheet[1]]
    values = dict(zip(header, next(r for r in sheet.values if r[0] == "A"), strict=True))
    assert values["Số hiệu chỉnh"] == 8 and values["Lý do hiệu chỉnh"] == REASON


def test_values_nobody_should_accept_are_refused(cli, db, engine, tmp_path):
    _prepare(cli, db, engine, tmp_path)  # site A: capacity 100, 10 registered
    for value, reason, code, message in (
        ("-3", REASON, 2, "is not a number of people"),
        ("2.5", REASON, 2, "is not a number of people"),
        ("301", REASON, 2, "more than 3× the site's capacity (100)"),
        ("300", "   ", 2, "reason: empty"),
    ):
        refused = _correct(cli, db, "A", value, reason, "Trần Thị Bình")
        assert (refused.code, message in refused.err) == (code, True), refused.err
    assert _correct(cli, db, "A", "5", REASON, " ").code == 2
    unknown = _correct(cli, db, "ZZ", "5", REASON, "x")
    assert unknown.code == 1 and "no site with code 'ZZ'" in unknown.err
    missing = cli("correct", "--site", "A", "--session", "HN/S9", "--value", "5",
                  "--reason", REASON, "--by", "x", "--db", db)  # fmt: skip
    assert missing.code == 1 and "no session 'HN/S9'" in missing.err
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Correction)) == 0
        corrections = select(func.count()).where(AuditEvent.action == "correction")
        assert session.scalar(corrections) == 0


def _correct(cli, db: str, code: str, value: str, reason: str, by: str):
    return cli(
        "correct", "--site", code, "--session", "HN/S1", "--value", value,
        "--reason", reason, "--by", by, "--db", db,
    )  # fmt: skip
