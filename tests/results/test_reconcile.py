"""Reconciliation, headcounts and the make-up list through the CLI, on SQLite and PostgreSQL.

Samples and identifications are written the way the workers write them (`record_samples`,
identification rows per sample), for hand-picked counts whose right answers are known.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import openpyxl
from sqlalchemy import insert, select

from attendance.store.models import (
    AuditEvent,
    ConferenceSession,
    Estimate,
    FaceEncoding,
    Identification,
    RosterEntry,
    Sample,
    Site,
)
from attendance.store.samples import record_samples
from tests.helpers import person, site, write_roster, write_sites

START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
SESSIONS = {"S1": START, "S2": START + timedelta(hours=3)}
ROSTERS = {"A": 10, "B": 10, "C": 5, "D": 5}  # people per site; the first of each is exempt


def _prepare(cli, db, engine, tmp_path: Path) -> None:
    sites = write_sites(tmp_path / "sites.csv", [site(code) for code in ROSTERS])
    people = [
        person(
            code,
            f"{code}{n:02d}",
            exempt="x" if n == 0 else "",
            consent_biometric="có" if code == "A" and n < 3 else "không",
        )
        for code, size in ROSTERS.items()
        for n in range(size)
    ]
    assert cli("sites", "import", sites, "--db", db).code == 0
    assert cli("roster", "import", write_roster(tmp_path / "r.csv", people), "--db", db).code == 0
    assert cli("conference", "create", "HN", "--name", "Hội nghị", "--db", db).code == 0
    for code, start in SESSIONS.items():
        end = start + timedelta(hours=1)
        made = cli(
            "session",
            "create",
            code,
            "--conference",
            "HN",
            "--cadence",
            "60",
            "--start",
            start.isoformat(),
            "--end",
            end.isoformat(),
            "--db",
            db,
        )
        assert made.code == 0, made.err


def _ids(engine) -> tuple[dict[str, int], dict[str, int]]:
    with engine.connect() as connection:
        sites = dict(connection.execute(select(Site.code, Site.id)).all())
        people = dict(connection.execute(select(RosterEntry.person_code, RosterEntry.id)).all())
    return sites, people


def _session_ids(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(select(ConferenceSession.code, ConferenceSession.id)).all())


def _record(
    engine, session: str, code: str, counts: list[int | None], remembered: int | None = None
) -> None:
    sites, _ = _ids(engine)
    session_id = _session_ids(engine)[session]
    rows = [
        {
            "site_id": sites[code],
            "session_id": session_id,
            "worker_id": "test",
            "slot": SESSIONS[session] + timedelta(minutes=i),
            "status": "ok" if count is not None else "timeout",
            "face_count": count,
            "remembered": remembered if count is not None else None,
            "detector": {"flags": []},
        }
        for i, count in enumerate(counts)
    ]
    record_samples(engine, rows)


def _identify(engine, session: str, code: str, person_code: str, minutes: range) -> None:
    sites, people = _ids(engine)
    slots = [SESSIONS[session] + timedelta(minutes=m) for m in minutes]
    with engine.begin() as connection:
        sample_ids = connection.scalars(
            select(Sample.id).where(Sample.site_id == sites[code], Sample.slot.in_(slots))
        ).all()
        connection.execute(
            insert(Identification),
            [
                {
                    "sample_id": s,
                    "roster_entry_id": people[person_code],
                    "decision": "match",
                    "distance": 0.4,
                    "box": [0, 10, 10, 0],
                }
                for s in sample_ids
            ],
        )


def _enroll(engine, *person_codes: str) -> None:
    _, people = _ids(engine)
    encoding = np.zeros(128).astype("<f8").tobytes()
    with engine.begin() as connection:
        connection.execute(
            insert(FaceEncoding),
            [
                {"roster_entry_id": people[c], "encoding": encoding, "photo_sha256": c * 8}
                for c in person_codes
            ],
        )


def _reconcile(cli, db, session: str) -> dict[str, dict]:
    result = cli("reconcile", "--session", f"HN/{session}", "--json", "--db", db)
    assert result.code == 0, result.err
    return {row["code"]: row for row in json.loads(result.out)}


def test_each_site_gets_its_status_and_the_evidence_behind_it(cli, db, engine, tmp_path):
    _prepare(cli, db, engine, tmp_path)
    _record(engine, "S1", "A", [9] * 60)  # 9 of 9 expected
    _record(engine, "S1", "B", [3] * 60)  # 3 of 9: under
    _record(engine, "S1", "D", [None] * 60)  # the feed never worked
    sites = _reconcile(cli, db, "S1")
    assert sites["A"]["status"] == "ok"
    assert (sites["A"]["expected"], sites["A"]["present"], sites["A"]["rate"]) == (9, 9, 1.0)
    assert sites["B"]["status"] == "under" and sites["B"]["absent"] == 6
    assert sites["C"]["status"] == "no_data" and sites["C"]["present"] is None
    assert sites["D"]["status"] == "feed_problem" and sites["D"]["present"] is None
    with engine.connect() as connection:
        evidence = connection.scalars(
            select(Sample.face_count).where(Sample.id.in_(sites["B"]["evidence"]))
        ).all()
        stored = connection.execute(select(Estimate.raw, Estimate.coverage)).all()
    assert evidence and set(evidence) == {3}
    assert sorted(stored, key=str) == sorted([(9.0, 1.0), (3.0, 1.0), (None, 0.0)], key=str)


def test_reconcile_json_says_how_much_of_the_figure_came_from_memory(cli, db, engine, tmp_path):
    """Pinned: `remembered_share` in `reconcile --json` and the stored estimate; null for sites
    whose samples never recorded it, whose stored quality keeps its old keys."""
    _prepare(cli, db, engine, tmp_path)
    _record(engine, "S1", "A", [8] * 60, remembered=2)
    _record(engine, "S1", "B", [3] * 60)
    sites = _reconcile(cli, db, "S1")
    assert sites["A"]["remembered_share"] == 0.25 and sites["A"]["present"] == 8
    assert sites["B"]["remembered_share"] is None
    with engine.connect() as connection:
        stored = connection.scalars(select(Estimate.quality).order_by(Estimate.site_id)).all()
    assert stored[0]["remembered_share"] == 0.25 and "remembered_share" not in stored[1]


def test_a_headcount_calibrates_later_estimates_and_both_figures_are_kept(
    cli, db, engine, tmp_path
):
    _prepare(cli, db, engine, tmp_path)
    _record(engine, "S1", "B", [5] * 60)
    at = (SESSIONS["S1"] + timedelta(minutes=30)).isoformat()
    done = cli(
        "headcount", "--site", "B", "--count", "8", "--at", at, "--by", "Trần Thị Bình", "--db", db
    )
    assert done.code == 0, done.err
    assert "calibration factor 1.6" in done.out
    b = _reconcile(cli, db, "S1")["B"]
    assert (b["estimated_raw"], b["factor"], b["present"], b["status"]) == (5.0, 1.6, 8, "under")
    report = cli("report", "site", "B", "--session", "HN/S1", "--db", db)
    assert report.code == 0, report.err
    assert "headcount 8" in report.out and "Trần Thị Bình" in report.out


def test_impossible_headcounts_are_refused(cli, db, engine, tmp_path):
    _prepare(cli, db, engine, tmp_path)
    unknown = cli("headcount", "--site", "ZZ", "--count", "5", "--by", "x", "--db", db)
    assert unknown.code == 1 and "no site with code 'ZZ'" in unknown.err
    negative = cli("headcount", "--site", "A", "--count", "-3", "--by", "x", "--db", db)
    assert negative.code == 2 and "not a number of people" in negative.err
    crowd = cli("headcount", "--site", "A", "--count", "900", "--by", "x", "--db", db)
    assert crowd.code == 2 and "twice the site's capacity (100)" in crowd.err
    nothing = cli("headcount", "--site", "A", "--count", "5", "--by", "x", "--db", db)
    assert nothing.code == 0 and "cannot calibrate" in nothing.out


def test_identified_people_are_named_and_the_makeup_list_covers_both_sessions(
    cli, db, engine, tmp_path
):
    _prepare(cli, db, engine, tmp_path)
    _enroll(engine, "A01", "A02")  # A00 is exempt; A03.. have no consent
    for session in SESSIONS:
        _record(engine, session, "A", [9] * 60)
        _record(engine, session, "B", [2] * 60)
    _identify(engine, "S1", "A", "A01", range(10, 40))  # A01 came to the first session only
    first = _reconcile(cli, db, "S1")["A"]
    assert first["identified"] == 1 and first["absent_named"] == ["A02"]
    assert _reconcile(cli, db, "S2")["A"]["absent_named"] == ["A01", "A02"]
    report = cli("report", "site", "A", "--session", "HN/S1", "--db", db)
    assert "A01" in report.out and "30" in report.out  # 30 minutes present

    out = tmp_path / "makeup.xlsx"
    made = cli("makeup", "--conference", "HN", "--xlsx", out, "--json", "--db", db)
    assert made.code == 0, made.err
    listed = {row["person_code"]: row["basis"] for row in json.loads(made.out)}
    # A02 never seen; B under its roster in both sessions (nobody there identifiable); C and D
    # have no data at all; exempt people and A01 (seen once) are not listed; A03.. are presumed
    # present because site A was ok.
    expected = {"A02"} | {f"{c}{n:02d}" for c in "BCD" for n in range(1, ROSTERS[c])}
    assert set(listed) == expected
    assert listed["A02"] == "not seen in any session"
    workbook = openpyxl.load_workbook(out)
    sheet = workbook["Danh sách học bù"]
    header = [cell.value for cell in sheet[1]]
    assert header[:5] == ["Đơn vị", "Mã điểm cầu", "Tên điểm cầu", "Mã cán bộ", "Họ và tên"]
    assert sheet.max_row == len(expected) + 1
    attended = list(workbook["Buổi đã dự"].values)
    assert attended[1:] == [("A01", "Nguyễn Văn An", "A", 1, "S1")]


def test_reconcile_writes_csv_and_xlsx_with_vietnamese_headers(cli, db, engine, tmp_path):
    _prepare(cli, db, engine, tmp_path)
    _record(engine, "S1", "A", [9] * 60)
    done = cli(
        "reconcile",
        "--session",
        "HN/S1",
        "--csv",
        tmp_path / "r.csv",
        "--xlsx",
        tmp_path / "r.xlsx",
        "--db",
        db,
    )
    assert done.code == 0, done.err
    assert "4 sites" in done.out
    rows = list(csv.reader((tmp_path / "r.csv").open(encoding="utf-8-sig")))
    assert rows[0][:3] == ["Mã điểm cầu", "Tên điểm cầu", "Tỉnh/Thành phố"] and len(rows) == 5
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    assert sheet.title == "Đối chiếu" and sheet.max_row == 5
    missing = cli("reconcile", "--session", "HN/S9", "--db", db)
    assert missing.code == 1 and "no session 'HN/S9'" in missing.err


def test_estimate_changes_are_audited_once(cli, db, engine, tmp_path):
    _prepare(cli, db, engine, tmp_path)
    _record(engine, "S1", "A", [9] * 60)
    _reconcile(cli, db, "S1")
    _reconcile(cli, db, "S1")  # nothing changed: no new event
    with engine.connect() as connection:
        events = connection.execute(
            select(AuditEvent.payload).where(AuditEvent.action == "estimates.change")
        ).all()
    (payload,) = [row[0] for row in events]
    site_id = _ids(engine)[0]["A"]
    assert payload["changed"] == 1 and payload["sites"] == [[site_id, 9.0, 9.0, "good"]]
