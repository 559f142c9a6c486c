"""The `attendance` command as a user meets it: help, exit codes, JSON lists, conferences."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import click
import pytest

from attendance.cli import cli as root


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("path", list(_commands(root)), ids=" ".join)
def test_every_command_has_help(cli, path: tuple[str, ...]):
    result = cli(*path, "--help")
    assert result.code == 0
    assert "Usage: attendance " + " ".join(path) in result.out
    command = root
    for name in path:
        command = command.commands[name]
    assert command.help, f"{' '.join(path)} needs a docstring"


@pytest.mark.parametrize("path", [p for p in _commands(root) if p[-1] == "list"], ids=" ".join)
def test_every_list_command_takes_json_config_and_db(cli, path):
    result = cli(*path, "--help")
    for option in ("--json", "--config", "--db"):
        assert option in result.out


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "attendance", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_console_entry_point_exit_codes(tmp_path: Path):
    """2 for bad input, 1 for runtime failures, messages on stderr only."""
    ok = _run("init", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "var" / "attendance.db").exists()

    (tmp_path / "bad.csv").write_text("site_code,site_name,province\nA,,Huế\n", encoding="utf-8")
    bad = _run("sites", "import", "bad.csv", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert "row 2, column 'site_name', value '': must not be empty" in bad.stderr

    usage = _run("sites", "import", cwd=tmp_path)
    assert usage.returncode == 2
    assert "Missing argument 'FILE'" in usage.stderr

    unreachable = _run("sites", "list", "--db", "postgresql://nobody@127.0.0.1:1/x", cwd=tmp_path)
    assert unreachable.returncode == 1
    assert "database unavailable" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr

    bad_config = _run("sites", "list", "--config", "missing.toml", cwd=tmp_path)
    assert bad_config.returncode == 2
    assert "missing.toml: configuration file not found" in bad_config.stderr


def _session(cli, db: str, code: str, start: str, end: str, conference: str = "NQ10"):
    return cli(
        "session", "create", code, "--conference", conference, "--start", start, "--end", end,
        "--db", db,
    )  # fmt: skip


def test_conferences_and_sessions(cli, db):
    assert cli("conference", "create", "NQ10", "--name", "Nghị quyết 10", "--db", db).code == 0
    duplicate = cli("conference", "create", "NQ10", "--name", "again", "--db", db)
    assert (duplicate.code, "already exists" in duplicate.err) == (2, True)

    created = _session(cli, db, "S1", "2026-11-25 08:00", "2026-11-25 11:30")
    assert created.code == 0, created.err
    assert "2026-11-25 08:00+07:00 → 2026-11-25 11:30+07:00" in created.out

    backwards = _session(cli, db, "S2", "2026-11-25 11:00", "2026-11-25 08:00")
    assert backwards.code == 2
    assert "must come after the start" in backwards.err
    garbled = _session(cli, db, "S3", "25/11/2026", "2026-11-25 08:00")
    assert garbled.code == 2
    assert "expected YYYY-MM-DD HH:MM" in garbled.err
    missing = _session(cli, db, "S4", "2026-11-25 08:00", "2026-11-25 09:00", "NOPE")
    assert missing.code == 1
    assert "no conference with code 'NOPE'" in missing.err

    relative = _session(cli, db, "S5", "now", "+90m")
    assert relative.code == 0, relative.err
    sessions = json.loads(cli("session", "list", "--json", "--db", db).out)
    window = next((r["starts_at"], r["ends_at"]) for r in sessions if r["code"] == "S5")
    length = datetime.fromisoformat(window[1]) - datetime.fromisoformat(window[0])
    assert abs(length.total_seconds() - 5400) < 5
    sessions = [r for r in sessions if r["code"] != "S5"]
    assert sessions == [
        {
            "conference": "NQ10",
            "code": "S1",
            "name": "S1",
            "starts_at": "2026-11-25T01:00:00+00:00",
            "ends_at": "2026-11-25T04:30:00+00:00",
            "cadence_s": None,
        }
    ]
    conferences = json.loads(cli("conference", "list", "--json", "--db", db).out)
    assert [(row["code"], row["sessions"]) for row in conferences] == [("NQ10", 2)]


def test_empty_lists_are_empty_json_arrays(cli, db):
    for path in (("sites", "list"), ("roster", "list"), ("conference", "list")):
        result = cli(*path, "--json", "--db", db)
        assert (result.code, json.loads(result.out)) == (0, [])


def test_config_show_masks_passwords(cli):
    result = cli("config", "show", "--db", "postgresql://app:s3cret@db.internal/attendance")
    assert result.code == 0
    assert "s3cret" not in result.out
    assert (
        json.loads(result.out)["database"]["url"] == "postgresql://app:***@db.internal/attendance"
    )
