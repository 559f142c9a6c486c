"""`attendance purge`: old samples lose their images, never their rows; each purge is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from attendance.audit import evidence
from attendance.audit.verify import verify
from attendance.store.db import transaction
from attendance.store.models import AuditEvent, Sample, Site
from attendance.store.samples import record_samples
from tests.helpers import site, write_sites

NOW = datetime.now(UTC)
ROOT = Path("var/evidence")  # the default evidence.dir; tests run in their own directory
AGES = {"old": 100, "recent": 1, "shared": 100}  # days; `shared` is also shown by a new sample


def _world(cli, db: str, engine, tmp_path: Path) -> dict[str, str]:
    """A sample per image in AGES, plus a new one showing `shared`, and an old one whose image
    is gone already. Returns the image hashes by name."""
    result = cli("sites", "import", write_sites(tmp_path / "s.csv", [site("HN-001")]), "--db", db)
    assert result.code == 0, result.err
    with transaction(engine) as session:
        site_id = session.scalar(select(Site.id))
    images = {name: evidence.store(ROOT, name.encode() * 100) for name in AGES}
    images["gone"] = "f" * 64
    rows = [_row(site_id, NOW - timedelta(days=days), images[name]) for name, days in AGES.items()]
    rows.append(_row(site_id, NOW, images["shared"]))
    rows.append(_row(site_id, NOW - timedelta(days=200), images["gone"]))
    record_samples(engine, rows)
    return images


def _row(site_id: int, slot: datetime, sha256: str) -> dict:
    return {"site_id": site_id, "slot": slot, "status": "ok", "face_count": 3,
            "evidence_sha256": sha256}  # fmt: skip


def _stored(engine) -> list[tuple]:
    with transaction(engine) as session:
        query = select(Sample.slot, Sample.face_count, Sample.evidence_sha256).order_by(Sample.id)
        return session.execute(query).all()


def _audit(engine) -> list[AuditEvent]:
    with transaction(engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == "evidence.purge")
        return list(session.scalars(query))


def test_purge_deletes_old_images_keeps_samples_and_audits(cli, db, engine, tmp_path):
    images = _world(cli, db, engine, tmp_path)
    samples = _stored(engine)
    old = evidence.path_of(ROOT, images["old"])

    dry = cli("purge", "--dry-run", "--db", db)
    assert dry.code == 0, dry.err
    assert dry.out == f"{old}\t{old.stat().st_size}\n"
    assert "would delete 1 evidence images" in dry.err
    assert all(evidence.path_of(ROOT, images[n]).exists() for n in AGES) and not _audit(engine)

    started = datetime.now(UTC)
    done = cli("purge", "--db", db)  # default: evidence.retention_days (90)
    assert done.code == 0, done.err
    assert "deleted 1 evidence images (300 bytes)" in done.out
    assert not old.exists()
    assert evidence.path_of(ROOT, images["recent"]).exists()
    assert evidence.path_of(ROOT, images["shared"]).exists(), "a newer sample still shows it"
    assert _stored(engine) == samples, "rows, counts and hashes stay"
    (event,) = _audit(engine)
    cutoff = datetime.fromisoformat(event.payload["cutoff"]) + timedelta(days=90)
    assert started <= cutoff <= datetime.now(UTC)
    assert event.payload["files"] == 1 and event.payload["bytes"] == 300

    again = cli("purge", "--older-than", "12h", "--db", db)
    assert again.code == 0 and "deleted 1 evidence images (600 bytes)" in again.out
    assert not evidence.path_of(ROOT, images["recent"]).exists()
    assert len(_audit(engine)) == 2
    checked = verify(engine)
    assert checked.intact and checked.samples == len(samples), checked.as_dict()


def test_purge_refuses_an_age_it_cannot_read(cli, db):
    for age in ("90", "3w", "0d", "1.5d"):
        result = cli("purge", "--older-than", age, "--db", db)
        assert result.code == 2 and "expected hours or days" in result.err, age
