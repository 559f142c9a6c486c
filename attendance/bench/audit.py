"""Verifying the audit log at scale: a chain of N events, some of them the `samples.store` events
of stored samples, checked by its own `attendance audit verify` process (time and peak RSS).

Samples go in through `record_samples`, in batches of 200 as a busy worker stores them, with
boxes and, for one in ten, three identified faces. The other events (headcounts, corrections,
imports, logins) are generated straight into the table with their true hashes, between the
batches: appending them one by one is not what is measured.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from attendance.bench.imports import run_cli, scratch_database
from attendance.config import DatabaseSettings
from attendance.errors import BadInput
from attendance.store.audit_log import (
    StoredEvent,
    canonical_json,
    chain_end,
    event_hash,
    lock_chain,
)
from attendance.store.db import make_engine, transaction
from attendance.store.migrate import upgrade
from attendance.store.models import AuditEvent, Region, Site
from attendance.store.samples import record_samples

BATCH = 200  # samples per stored batch
SITES = 100
CADENCE = timedelta(seconds=30)
START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
ACTIONS = ("headcount", "correction", "roster.import", "user.login", "site.roi")


def bench_audit(events: int, samples: int, db: str | None, seed: int, report) -> dict:
    batches = -(-samples // BATCH)
    if batches > events:
        raise BadInput(f"{samples} samples need {batches} events of their own; raise --events")
    rng = random.Random(seed)
    with (
        tempfile.TemporaryDirectory(prefix="attendance-bench-") as tmp,
        scratch_database(db, Path(tmp)) as url,
    ):
        started = time.perf_counter()
        _generate(url, events, samples, rng)
        report(
            f"{events} events, {batches} of them listing {samples} samples, "
            f"generated in {time.perf_counter() - started:.0f} s"
        )
        run = run_cli("audit", "verify", "--json", "--db", url)
    checked = json.loads(run.output.splitlines()[-1])
    report(
        f"audit verify: {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB | "
        f"{checked['events']} events, {checked['samples']} samples, intact: {checked['intact']}"
    )
    return {
        "database": url.split(":", 1)[0].split("+")[0],
        "events": checked["events"],
        "samples": checked["samples"],
        "seconds": round(run.seconds, 2),
        "peak_rss_mb": round(run.peak_rss_mb),
    }


def _generate(url: str, events: int, samples: int, rng: random.Random) -> None:
    """Sample batches with the other events spread evenly between them, up to `events`."""
    engine = make_engine(DatabaseSettings(url=url))
    upgrade(engine)
    site_ids = _sites(engine)
    batches = -(-samples // BATCH)
    others, slices = events - batches, max(batches, 1)
    for n in range(slices):
        _append(engine, others * n // slices, others * (n + 1) // slices, rng)
        if n < batches:
            numbers = range(n * BATCH, min((n + 1) * BATCH, samples))
            rows = [_sample(k, site_ids, rng) for k in numbers]
            faces = {(row["site_id"], row["slot"]): _faces(rng) for row in rows[::10]}
            record_samples(engine, rows, faces)
    engine.dispose()


def _sites(engine: Engine) -> list[int]:
    with transaction(engine) as session:
        region = Region(level="province", name="Hà Nội", path="Hà Nội")
        sites = [
            Site(code=f"DC{n:05d}", name=f"Điểm cầu {n}", timezone="Asia/Ho_Chi_Minh")
            for n in range(SITES)
        ]
        for site in sites:
            site.province = site.region = region
        session.add_all(sites)
        session.flush()
        return [site.id for site in sites]


def _append(engine: Engine, begin: int, end: int, rng: random.Random) -> None:
    """Events begin..end-1 of the others, chained to the current end, 20,000 a transaction."""
    for chunk in range(begin, end, 20_000):
        with transaction(engine) as session:
            lock_chain(session)
            last_id, prev_hash = chain_end(session)
            rows = []
            for n in range(min(20_000, end - chunk)):
                event = _event(last_id + 1 + n, prev_hash, rng)
                prev_hash = event["hash"]
                rows.append(event)
            session.execute(insert(AuditEvent), rows)


def _event(event_id: int, prev_hash: str | None, rng: random.Random) -> dict[str, Any]:
    action = rng.choice(ACTIONS)
    payload = {
        "site": f"DC{rng.randrange(1, 64):02d}{rng.randrange(1, 20):03d}",
        "value": rng.randrange(0, 500),
        "by": "Nguyễn Văn An",
        "note": "đếm lúc giải lao" if rng.random() < 0.3 else None,
    }
    fields = {
        "id": event_id,
        "at": datetime.now(UTC),
        "actor": "cli:bench",
        "action": action,
        "entity": action.split(".")[0],
        "entity_id": str(rng.randrange(1, 10_000)),
        "payload": json.loads(canonical_json(payload)),
        "prev_hash": prev_hash,
    }
    return fields | {"hash": event_hash(prev_hash, StoredEvent(**fields, hash=None))}


def _sample(k: int, site_ids: list[int], rng: random.Random) -> dict:
    slot = START + CADENCE * (k // len(site_ids))
    count = rng.randrange(10, 60)
    return {
        "site_id": site_ids[k % len(site_ids)],
        "slot": slot,
        "captured_at": slot + timedelta(seconds=rng.uniform(0, 5)),
        "status": rng.choice(("ok", "gated", "gated")),
        "face_count": count,
        "boxes": [[rng.randrange(1080), rng.randrange(1920), 40, 30] for _ in range(count)],
        "frame_hash": f"{rng.getrandbits(256):064x}",
        "worker_id": "bench:1",
    }


def _faces(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "decision": "unknown",
            "distance": rng.uniform(0.6, 0.9),
            "box": [10, 50, 50, 10],
            "stranger_label": n,
        }
        for n in range(3)
    ]
