"""A small finished session at one site, built through the CLI as organizers do: samples with a
failed stretch and missed slots, an evidence image, a headcount and a correction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from attendance.store.models import ConferenceSession, Site
from attendance.store.samples import record_samples
from tests.helpers import person, site, write_roster, write_sites

CODE = "HN-BD-017"
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
EVIDENCE = "5e" * 32
REASON = "Hai người ngồi khuất sau cột, đã đếm lại"
FAILED, MISSED = range(25, 30), range(30, 35)  # minutes: grabs that timed out, slots with nothing


def build(cli, db: str, engine, tmp_path: Path) -> None:
    sites = [site(CODE, site_name="Điểm cầu Phường Điện Biên"), site("HN-BD-018")]
    people = [person(CODE, f"P{n:02d}", exempt="x" if n == 0 else "") for n in range(12)]
    for args in (
        ("sites", "import", write_sites(tmp_path / "sites.csv", sites)),
        ("roster", "import", write_roster(tmp_path / "roster.csv", people)),
        ("conference", "create", "TW10", "--name", "Hội nghị Trung ương 10"),
        ("session", "create", "S1", "--conference", "TW10", "--cadence", "60",
         "--start", START.isoformat(), "--end", (START + timedelta(hours=1)).isoformat()),
    ):  # fmt: skip
        done = cli(*args, "--db", db)
        assert done.code == 0, done.err
    _samples(engine)
    at = (START + timedelta(minutes=40)).isoformat()
    for args in (
        ("headcount", "--site", CODE, "--count", "11", "--at", at, "--by", "Lê Văn Cường"),
        ("correct", "--site", CODE, "--session", "TW10/S1", "--value", "13",
         "--reason", REASON, "--by", "Nguyễn Thị Hoa"),
    ):  # fmt: skip
        done = cli(*args, "--db", db)
        assert done.code == 0, done.err


def _samples(engine) -> None:
    with engine.connect() as connection:
        site_id = connection.scalar(select(Site.id).where(Site.code == CODE))
        session_id = connection.scalar(select(ConferenceSession.id))
    rows = [
        {
            "site_id": site_id,
            "session_id": session_id,
            "slot": START + timedelta(minutes=minute),
            "status": "timeout" if minute in FAILED else "ok",
            "face_count": None if minute in FAILED else (10 if minute < 25 else 11),
            "frame_hash": f"{minute:064x}",
            "evidence_sha256": EVIDENCE if minute == 40 else None,
            "detector": {"flags": [], "mode": "full"},
        }
        for minute in range(60)
        if minute not in MISSED
    ]
    record_samples(engine, rows)
