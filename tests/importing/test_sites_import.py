"""`attendance sites import`: on SQLite and PostgreSQL, all-or-nothing, idempotent, audited."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import func, select

from attendance.store.models import AuditEvent, Region, Site
from tests.helpers import count_rows, site, write_sites


def _sites(cli, db: str) -> dict[str, dict]:
    result = cli("sites", "list", "--json", "--db", db)
    assert result.code == 0, result.err
    return {row["code"]: row for row in json.loads(result.out)}


def test_import_then_list(cli, db, engine, tmp_path: Path):
    path = write_sites(
        tmp_path / "sites.csv",
        [site("A1"), site("A2", province="Huế", district="", commune="", timezone="Asia/Bangkok")],
    )
    result = cli("sites", "import", path, "--db", db)
    assert result.code == 0, result.err
    assert "2 added, 0 changed, 0 disabled, 0 unchanged" in result.out
    listed = _sites(cli, db)
    assert listed["A1"]["region"] == "Hà Nội › Quận Ba Đình › Phường Phúc Xá"
    assert listed["A1"]["province"] == "Hà Nội"
    assert listed["A1"]["timezone"] == "Asia/Ho_Chi_Minh"  # the configured default
    assert listed["A2"]["region"] == "Huế"
    assert listed["A2"]["timezone"] == "Asia/Bangkok"
    assert count_rows(engine, Region) == 4
    with engine.connect() as connection:
        event = connection.execute(select(AuditEvent)).one()
    assert event.action == "sites.import"
    assert event.payload["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert event.payload["added"] == 2
    assert len(event.hash) == 64


def test_reimport_is_idempotent_and_dry_run_writes_nothing(cli, db, engine, tmp_path: Path):
    rows = [site(f"S{n}") for n in range(5)]
    path = write_sites(tmp_path / "sites.csv", rows)
    assert cli("sites", "import", path, "--db", db).code == 0
    again = cli("sites", "import", path, "--db", db)
    assert "0 added, 0 changed, 0 disabled, 5 unchanged" in again.out

    rows[1]["site_name"] = "Hội trường mới"
    rows[2]["capacity"] = "250"
    rows.append(site("S9", province="Đà Nẵng", district="", commune=""))
    path = write_sites(tmp_path / "sites2.csv", rows)
    events = count_rows(engine, AuditEvent)
    preview = cli("sites", "import", path, "--dry-run", "--db", db)
    assert preview.code == 0, preview.err
    assert "would import sites: 1 added, 2 changed" in preview.out
    assert "~ S1: name: 'Điểm cầu S1' → 'Hội trường mới'" in preview.out
    assert "~ S2: capacity: 100 → 250" in preview.out
    assert "+ S9" in preview.out
    assert "S9" not in _sites(cli, db)
    assert count_rows(engine, AuditEvent) == events

    applied = cli("sites", "import", path, "--db", db)
    assert "1 added, 2 changed, 0 disabled, 3 unchanged" in applied.out
    listed = _sites(cli, db)
    assert listed["S1"]["name"] == "Hội trường mới"
    assert listed["S2"]["capacity"] == 250
    assert listed["S9"]["province"] == "Đà Nẵng"


def test_missing_sites_are_kept_unless_pruned(cli, db, tmp_path: Path):
    full = write_sites(tmp_path / "all.csv", [site("A"), site("B"), site("C")])
    part = write_sites(tmp_path / "part.csv", [site("A"), site("B")])
    assert cli("sites", "import", full, "--db", db).code == 0
    kept = cli("sites", "import", part, "--db", db)
    assert "1 enabled site(s) are not in the file" in kept.out
    assert _sites(cli, db)["C"]["enabled"] is True
    pruned = cli("sites", "import", part, "--prune", "--db", db)
    assert "0 added, 0 changed, 1 disabled, 2 unchanged" in pruned.out
    assert _sites(cli, db)["C"]["enabled"] is False
    back = cli("sites", "import", full, "--db", db)
    assert "0 added, 1 changed" in back.out
    assert _sites(cli, db)["C"]["enabled"] is True


def test_every_bad_row_is_reported_and_nothing_is_written(cli, db, engine, tmp_path: Path):
    good = write_sites(tmp_path / "good.csv", [site("OK1")])
    assert cli("sites", "import", good, "--db", db).code == 0
    events, regions = count_rows(engine, AuditEvent), count_rows(engine, Region)
    path = write_sites(
        tmp_path / "bad.csv",
        [
            site("OK2"),
            site("", site_name="Không mã"),
            site("B1", stream_url="10.0.0.5/live"),
            site("B2", capacity="nhiều"),
            site("B3", timezone="UTC+7"),
            site("OK2", site_name="trùng"),
            site("B4", site_name="", province=""),
            site("B5", district="", commune="Xã Tân Phú"),
        ],
    )
    result = cli("sites", "import", path, "--db", db)
    assert result.code == 2
    assert result.out == ""
    assert "8 problem(s) found, nothing was imported" in result.err
    for expected in [
        "row 3, column 'site_code', value '': must not be empty",
        "row 4, column 'stream_url', value '10.0.0.5/live': expected a stream URL",
        "row 5, column 'capacity', value 'nhiều': expected a whole number",
        "row 6, column 'timezone', value 'UTC+7': unknown time zone",
        "row 7, column 'site_code', value 'OK2': duplicate site code (first in row 2)",
        "row 8, column 'site_name', value '': must not be empty",
        "row 8, column 'province', value '': must not be empty",
        "row 9, column 'commune', value 'Xã Tân Phú': a commune needs its district",
    ]:
        assert expected in result.err
    assert list(_sites(cli, db)) == ["OK1"]
    assert count_rows(engine, AuditEvent) == events
    assert count_rows(engine, Region) == regions


def test_example_files_import_all_provinces(cli, db, engine):
    examples = Path(__file__).parents[2] / "configs" / "examples"
    result = cli("sites", "import", examples / "sites.xlsx", "--db", db)
    assert result.code == 0, result.err
    assert "900 added" in result.out
    assert "ignored columns" not in result.out
    same = cli("sites", "import", examples / "sites.csv", "--db", db)
    assert "0 added, 0 changed, 0 disabled, 900 unchanged" in same.out
    with engine.connect() as connection:
        provinces = connection.scalar(
            select(func.count()).select_from(Region).where(Region.level == "province")
        )
        enabled = connection.scalar(select(func.count()).select_from(Site).where(Site.enabled))
    assert provinces == 63
    assert enabled == 900
    hanoi = cli("sites", "list", "--province", "ha noi", "--json", "--db", db)
    assert {row["province"] for row in json.loads(hanoi.out)} == {"Hà Nội"}


def test_a_new_stream_url_forgets_the_old_cameras_perspective(cli, db, engine, tmp_path: Path):
    cli("sites", "import", write_sites(tmp_path / "a.csv", [site("A1"), site("A2")]), "--db", db)
    learned = {"model": {"intercept": 5.0, "slope": 0.1, "top": 9, "bottom": 99, "faces": 9}}
    with engine.begin() as connection:
        connection.execute(Site.__table__.update().values(perspective=learned))
    moved = [site("A1", stream_url="http://10.0.0.9/new.jpg"), site("A2", site_name="Renamed")]
    result = cli("sites", "import", write_sites(tmp_path / "b.csv", moved), "--db", db)
    assert "0 added, 2 changed" in result.out, result.err
    with engine.connect() as connection:
        kept = dict(connection.execute(select(Site.code, Site.perspective)).all())
    assert kept == {"A1": None, "A2": learned}
