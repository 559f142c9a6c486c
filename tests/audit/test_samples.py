"""Samples are provable: each stored batch is listed in one `samples.store` event, and verify
names a sample edited, deleted or inserted behind the application's back."""

from __future__ import annotations

import asyncio
import hashlib

from sqlalchemy import insert, select, update

from attendance.store.audit_log import canonical_json, sample_digest
from attendance.store.db import transaction
from attendance.store.models import AuditEvent, Identification, Sample
from attendance.store.samples import record_samples
from tests.audit.conftest import sample_rows
from workers.writer import SampleWriter


def _listed(engine) -> list[list[int]]:
    """Sample ids listed by each samples.store event, in chain order."""
    with transaction(engine) as session:
        query = (
            select(AuditEvent.payload)
            .where(AuditEvent.action == "samples.store")
            .order_by(AuditEvent.id)
        )
        return [[entry[0] for entry in p["samples"]] for p in session.scalars(query)]


def test_a_batch_is_one_event_listing_only_its_new_samples(engine, site_id, verify):
    assert record_samples(engine, sample_rows(site_id, range(3))) == 3
    assert record_samples(engine, sample_rows(site_id, range(2, 5))) == 2  # slot 2 is stored
    assert record_samples(engine, sample_rows(site_id, range(4, 5))) == 0  # no event
    with transaction(engine) as session:
        ids = list(session.scalars(select(Sample.id).order_by(Sample.id)))
        assert _listed(engine) == [ids[:3], ids[3:]]  # PostgreSQL skips the refused row's id
        entry = session.scalar(select(AuditEvent.payload).where(AuditEvent.id == 1))["samples"][0]
        assert session.scalar(select(AuditEvent.actor)) == "worker:test:1"
    assert entry[:2] == [1, 3] and len(entry[2]) == 64  # id, face_count, SHA-256
    code, report = verify()
    assert (code, report["events"], report["samples"]) == (0, 2, 5)


def test_the_writer_appends_one_event_per_batch(engine, site_id, monkeypatch):
    monkeypatch.setattr("workers.writer.MAX_BATCH", 4)
    writer = SampleWriter(engine)

    async def store() -> None:
        for row in sample_rows(site_id, range(10)):
            writer.add(row)
        await writer.flush()

    asyncio.run(store())
    assert _listed(engine) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]


def test_an_edited_count_names_the_sample(chain, verify):
    with chain.begin() as connection:
        connection.execute(update(Sample).where(Sample.id == 4).values(face_count=30))
    code, report = verify()
    assert code == 3
    assert report["problems"] == [
        {"sample": 4, "problem": "does not match event 5: face_count was 3, now 30"}
    ]


def test_an_edited_identification_names_its_sample(chain, verify):
    with chain.begin() as connection:
        faces = update(Identification).where(Identification.sample_id == 3)
        connection.execute(faces.values(decision="match"))
    code, report = verify()
    assert (code, [p["sample"] for p in report["problems"]]) == (3, [3])
    assert "another field than face_count, or its identifications, changed" in str(report)


def test_a_sample_inserted_behind_the_back_is_named(chain, verify, site_id):
    (row,) = sample_rows(site_id, range(9, 10))
    with chain.begin() as connection:
        connection.execute(insert(Sample).values(row))
    code, report = verify()
    assert code == 3
    assert report["problems"] == [
        {
            "sample": 6,
            "problem": "not listed in any samples.store event: stored behind the application's "
            "back",
        }
    ]


def test_a_deleted_sample_is_named(chain, verify):
    with chain.begin() as connection:
        connection.execute(Sample.__table__.delete().where(Sample.id == 2))
    code, report = verify()
    assert (code, report["problems"]) == (
        3,
        [{"sample": 2, "problem": "missing (deleted); event 2 lists it"}],
    )


OLD_SAMPLE = {
    "site_id": 1,
    "session_id": None,
    "slot": "2026-11-25 01:00:00.000000",
    "captured_at": None,
    "status": "ok",
    "face_count": 3,
    "boxes": "[[10, 60, 60, 10]]",
    "frame_hash": "ab" * 32,
    "evidence_sha256": None,
}


def test_a_sample_without_remembered_hashes_as_before_the_column():
    """Pinned: samples stored before `remembered` (NULL there) keep their digests, so the
    chain of old data still verifies."""
    before = hashlib.sha256(canonical_json({**OLD_SAMPLE, "identifications": []}).encode())
    assert sample_digest(OLD_SAMPLE, ()) == before.hexdigest()
    assert sample_digest({**OLD_SAMPLE, "remembered": None}, ()) == before.hexdigest()
    assert sample_digest({**OLD_SAMPLE, "remembered": 1}, ()) != before.hexdigest()


def test_a_remembered_count_is_stored_and_proven(engine, site_id, verify):
    """Pinned: `remembered` is stored, covered by the digest: editing it is found."""
    rows = [{**row, "remembered": 1} for row in sample_rows(site_id, range(2))]
    rows += sample_rows(site_id, range(2, 3))  # one without: NULL, as older samples
    assert record_samples(engine, rows) == 3
    with transaction(engine) as session:
        assert session.scalars(select(Sample.remembered).order_by(Sample.id)).all() == [1, 1, None]
    assert verify()[0] == 0
    with engine.begin() as connection:
        connection.execute(update(Sample).where(Sample.id == 2).values(remembered=0))
    code, report = verify()
    assert code == 3 and [p["sample"] for p in report["problems"]] == [2]
    assert "another field than face_count" in report["problems"][0]["problem"]
