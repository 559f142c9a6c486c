"""`attendance roster import`: on SQLite and PostgreSQL, all-or-nothing, scoped, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attendance.store.models import AuditEvent, RosterEntry
from tests.helpers import count_rows, person, site, write_roster, write_sites


@pytest.fixture
def two_sites(cli, db, tmp_path: Path) -> str:
    path = write_sites(tmp_path / "sites.csv", [site("A"), site("B")])
    assert cli("sites", "import", path, "--db", db).code == 0
    return db


def _roster(cli, db: str, *args: str) -> dict[str, dict]:
    result = cli("roster", "list", "--json", "--db", db, *args)
    assert result.code == 0, result.err
    return {row["person_code"]: row for row in json.loads(result.out)}


def test_import_list_and_counts(cli, two_sites, tmp_path: Path):
    rows = [
        person("A", "P1", full_name="Trần Thị Hằng"),
        person("A", "P2", exempt="x", exempt_reason="Ốm đau", consent_biometric="không"),
        person("B", "P3"),
    ]
    result = cli("roster", "import", write_roster(tmp_path / "r.csv", rows), "--db", two_sites)
    assert result.code == 0, result.err
    assert "3 added, 0 changed, 0 deactivated, 0 unchanged" in result.out
    at_a = _roster(cli, two_sites, "--site", "A")
    assert set(at_a) == {"P1", "P2"}
    assert at_a["P1"]["full_name"] == "Trần Thị Hằng"
    assert at_a["P1"]["consent_biometric"] is True
    assert at_a["P2"]["exempt"] is True
    assert at_a["P2"]["exempt_reason"] == "Ốm đau"
    assert at_a["P2"]["consent_biometric"] is False
    sites = {
        row["code"]: row
        for row in json.loads(cli("sites", "list", "--json", "--db", two_sites).out)
    }
    assert (sites["A"]["registered"], sites["A"]["exempt"]) == (2, 1)
    assert (sites["B"]["registered"], sites["B"]["exempt"]) == (1, 0)


def test_unknown_site_in_list_is_an_error(cli, two_sites):
    result = cli("roster", "list", "--site", "ZZ", "--db", two_sites)
    assert result.code == 1
    assert "no site with code 'ZZ'" in result.err


def test_every_bad_row_is_reported_and_nothing_is_written(cli, two_sites, engine, tmp_path: Path):
    events = count_rows(engine, AuditEvent)
    rows = [
        person("A", "P1"),
        person("NOPE", "P2"),
        person("A", "P1", full_name="Lê Văn Bình"),
        person("B", "P3", full_name=""),
        person("B", "P4", exempt="có lẽ"),
        person("B", "P5", consent_biometric="2"),
        person("B", ""),
        person("a", "P6"),
    ]
    result = cli("roster", "import", write_roster(tmp_path / "bad.csv", rows), "--db", two_sites)
    assert result.code == 2
    for expected in [
        "row 3, column 'site_code', value 'NOPE': unknown site code",
        "row 4, column 'person_code', value 'P1': duplicate person code (first in row 2)",
        "row 5, column 'full_name', value '': must not be empty",
        "row 6, column 'exempt', value 'có lẽ': expected yes/no",
        "row 7, column 'consent_biometric', value '2': expected yes/no",
        "row 8, column 'person_code', value '': must not be empty",
        "row 9, column 'site_code', value 'a': unknown site code; did you mean 'A'?",
    ]:
        assert expected in result.err
    assert "7 problem(s) found, nothing was imported" in result.err
    assert count_rows(engine, RosterEntry) == 0
    assert count_rows(engine, AuditEvent) == events


def test_file_is_authoritative_only_for_its_sites(cli, two_sites, engine, tmp_path: Path):
    first = [person("A", "P1"), person("A", "P2"), person("B", "P3")]
    assert (
        cli("roster", "import", write_roster(tmp_path / "1.csv", first), "--db", two_sites).code
        == 0
    )
    again = cli("roster", "import", tmp_path / "1.csv", "--db", two_sites)
    assert "0 added, 0 changed, 0 deactivated, 3 unchanged" in again.out

    # Site A's new roster drops P2 and renames P1; site B is not in the file.
    second = [person("A", "P1", full_name="Nguyễn Văn Anh")]
    path = write_roster(tmp_path / "2.csv", second)
    preview = cli("roster", "import", path, "--dry-run", "--db", two_sites)
    assert "would import roster: 0 added, 1 changed, 1 deactivated, 0 unchanged" in preview.out
    assert "- P2" in preview.out
    assert set(_roster(cli, two_sites)) == {"P1", "P2", "P3"}

    assert cli("roster", "import", path, "--db", two_sites).code == 0
    assert set(_roster(cli, two_sites)) == {"P1", "P3"}
    everyone = _roster(cli, two_sites, "--all")
    assert everyone["P2"]["active"] is False
    assert everyone["P1"]["full_name"] == "Nguyễn Văn Anh"
    assert count_rows(engine, RosterEntry) == 3  # deactivated, not deleted

    # Moving P3 to site A and bringing P2 back are changes, not new people.
    third = [person("A", "P1", full_name="Nguyễn Văn Anh"), person("A", "P2"), person("A", "P3")]
    moved = cli("roster", "import", write_roster(tmp_path / "3.csv", third), "--db", two_sites)
    assert "0 added, 2 changed, 0 deactivated, 1 unchanged" in moved.out
    assert _roster(cli, two_sites)["P3"]["site_code"] == "A"


def test_vietnamese_headers_and_utf16_unicode_text(cli, two_sites, tmp_path: Path):
    path = tmp_path / "danh-sach.txt"
    path.write_text(
        "Mã điểm cầu\tMã đảng viên\tHọ và tên\tMiễn\tLý do miễn\tĐồng ý nhận diện khuôn mặt\n"
        "A\tDV1\tPhạm Thị Thu\tCó\tThai sản\tKhông\n",
        encoding="utf-16",
    )
    result = cli("roster", "import", path, "--db", two_sites)
    assert result.code == 0, result.err
    entry = _roster(cli, two_sites)["DV1"]
    assert (entry["full_name"], entry["exempt"], entry["exempt_reason"]) == (
        "Phạm Thị Thu",
        True,
        "Thai sản",
    )
    assert entry["consent_biometric"] is False


def test_example_roster_imports(cli, db):
    examples = Path(__file__).parents[2] / "configs" / "examples"
    assert cli("sites", "import", examples / "sites.xlsx", "--db", db).code == 0
    result = cli("roster", "import", examples / "roster.xlsx", "--db", db)
    assert result.code == 0, result.err
    assert "0 deactivated, 0 unchanged" in result.out
    added = int(result.out.split(": ")[-1].split(" added")[0])
    assert 4000 < added < 8000
