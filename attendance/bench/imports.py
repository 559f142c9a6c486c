"""Roster import at national scale: time and peak memory of first import and unchanged re-import.

Each import runs as its own `attendance` process, so its peak RSS is its own and not the
generator's. PostgreSQL runs go into a scratch schema that is dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from attendance.errors import AttendanceError
from attendance.examples.generate import (
    ROSTER_HEADERS_VI,
    SITE_HEADERS_VI,
    example_roster,
    example_sites,
    write_table,
)
from attendance.store.db import database_url


@dataclass
class Run:
    step: str
    seconds: float
    peak_rss_mb: float
    output: str


def run_cli(*args: str) -> Run:
    """Run `attendance ARGS` in a child process; wall time and the child's own peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "attendance", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    out, err = child.stdout.read().decode(), child.stderr.read().decode()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise AttendanceError(f"attendance {' '.join(args)} failed:\n{err or out}")
    return Run(args[0], seconds, usage.ru_maxrss / 1024, out.strip())


@contextmanager
def scratch_database(url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh SQLite file, or a fresh schema in the given PostgreSQL database."""
    if url is None or database_url(url).get_backend_name() == "sqlite":
        yield url or f"sqlite:///{workdir / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = database_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_roster_import(
    people: int, sites: int, file_format: str, db: str | None, report
) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory(prefix="attendance-bench-") as tmp:
        workdir = Path(tmp)
        site_rows = example_sites(sites)
        site_file = write_table(site_rows, workdir / "sites.csv", SITE_HEADERS_VI)
        roster_rows = example_roster(site_rows, people=people)
        roster_file = write_table(roster_rows, workdir / f"roster.{file_format}", ROSTER_HEADERS_VI)
        size_mb = roster_file.stat().st_size / 1e6
        report(
            f"roster: {len(roster_rows)} people at {sites} sites, {size_mb:.1f} MB {file_format}"
        )
        del roster_rows
        with scratch_database(db, workdir) as url:
            run_cli("init", "--db", url)
            run_cli("sites", "import", str(site_file), "--db", url)
            first = run_cli("roster", "import", str(roster_file), "--db", url)
            again = run_cli("roster", "import", str(roster_file), "--db", url)
        for label, run in (("first import", first), ("unchanged re-import", again)):
            figures = f"{run.seconds:6.1f} s  peak RSS {run.peak_rss_mb:4.0f} MB"
            report(f"{label:20} {figures}  | {run.output.rsplit(': ', 1)[-1]}")
        return {
            "database": url.split(":", 1)[0],
            "format": file_format,
            "people": people,
            "first_s": round(first.seconds, 2),
            "first_peak_mb": round(first.peak_rss_mb),
            "reimport_s": round(again.seconds, 2),
            "reimport_peak_mb": round(again.peak_rss_mb),
        }
