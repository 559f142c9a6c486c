"""Reconciliation at national scale: one session of N sites and M roster entries, 2 hours of
60-s samples, reconciled by its own `attendance reconcile` process (time and peak RSS).

Sites go in through the importer; roster entries and samples are generated straight into the
tables, since their import is not what is measured (see `bench import`).
"""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from attendance.bench.imports import run_cli, scratch_database
from attendance.config import DatabaseSettings
from attendance.examples.generate import SITE_HEADERS_VI, example_sites, write_table
from attendance.store.db import make_engine, transaction
from attendance.store.models import ConferenceSession, RosterEntry, Sample, Site

SLOTS = 120  # 2 hours of 60-s slots
CHUNK = 20_000
FAILURES = ("timeout", "no_frame", "dark")


def bench_reconcile(sites: int, people: int, db: str | None, seed: int, report) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="attendance-bench-") as tmp:
        workdir = Path(tmp)
        site_file = write_table(example_sites(sites, seed), workdir / "s.csv", SITE_HEADERS_VI)
        with scratch_database(db, workdir) as url:
            run_cli("init", "--db", url)
            run_cli("sites", "import", str(site_file), "--db", url)
            run_cli("conference", "create", "BENCH", "--name", "Benchmark", "--db", url)
            start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
            run_cli(
                "session",
                "create",
                "S1",
                "--conference",
                "BENCH",
                "--cadence",
                "60",
                "--start",
                start.isoformat(),
                "--end",
                (start + timedelta(hours=2)).isoformat(),
                "--db",
                url,
            )
            samples = _generate(url, people, start, rng)
            report(f"{sites} sites, {people} roster entries, {samples} samples generated")
            out = workdir / "reconcile.csv"
            run = run_cli("reconcile", "--session", "BENCH/S1", "--csv", str(out), "--db", url)
        report(f"reconcile: {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB | {run.output}")
        return {
            "database": url.split(":", 1)[0].split("+")[0],
            "seconds": round(run.seconds, 2),
            "peak_rss_mb": round(run.peak_rss_mb),
            "sites": sites,
            "people": people,
            "samples": samples,
        }


def _generate(url: str, people: int, start: datetime, rng: random.Random) -> int:
    """Roster entries spread over the sites and a count per site and slot."""
    engine = make_engine(DatabaseSettings(url=url))
    with transaction(engine) as session:
        session_id = session.scalar(select(ConferenceSession.id))
    per_site = generate_roster(engine, people, rng)
    now = datetime.now(UTC)
    samples = (
        _sample(rng, site_id, session_id, start + timedelta(minutes=slot), size, now)
        for site_id, size in per_site.items()
        for slot in range(SLOTS)
    )
    written = _insert(engine, Sample, samples)
    engine.dispose()
    return written


def generate_roster(engine, people: int, rng: random.Random) -> dict[int, int]:
    """`people` roster entries spread evenly over the sites, 5% exempt; site id → how many."""
    with transaction(engine) as session:
        site_ids = list(session.scalars(select(Site.id).order_by(Site.id)))
    per_site = {site_id: people // len(site_ids) for site_id in site_ids}
    for site_id in site_ids[: people % len(site_ids)]:
        per_site[site_id] += 1
    now = datetime.now(UTC)
    roster = (
        {
            "site_id": site_id,
            "person_code": f"P{site_id:05d}{n:04d}",
            "full_name": f"Người {n}",
            "exempt": rng.random() < 0.05,
            "consent_biometric": False,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for site_id, size in per_site.items()
        for n in range(size)
    )
    _insert(engine, RosterEntry, roster)
    return per_site


def _sample(rng, site_id, session_id, slot, roster_size, now) -> dict:
    failed = rng.random() < 0.03
    present = round(roster_size * rng.uniform(0.7, 1.0))
    return {
        "site_id": site_id,
        "session_id": session_id,
        "slot": slot,
        "captured_at": slot,
        "status": rng.choice(FAILURES) if failed else rng.choice(("ok", "gated", "gated")),
        "face_count": None if failed else max(0, present + rng.randint(-2, 2)),
        "detector": {"flags": []},
        "created_at": now,
    }


def _insert(engine, model, rows) -> int:
    written, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            written += _flush(engine, model, chunk)
            chunk = []
    return written + _flush(engine, model, chunk)


def _flush(engine, model, chunk) -> int:
    if chunk:
        with transaction(engine) as session:
            session.execute(insert(model), chunk)
    return len(chunk)
