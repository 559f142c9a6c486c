"""A job that reaches a worker long after its slot began is recorded, unsampled, at once."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from attendance.clock import ManualClock
from attendance.config import Settings
from attendance.store.models import ConferenceSession, Sample, Site
from tests.helpers import site, write_sites
from workers.cluster.worker import ClusterWorker
from workers.pool import DetectionPool


def test_a_slot_two_cadences_old_is_stored_as_not_sampled(cli, db, engine, tmp_path):
    sites = write_sites(tmp_path / "sites.csv", [site("S-1", stream_url="http://127.0.0.1:9/x")])
    for args in (("sites", "import", sites), ("conference", "create", "C", "--name", "C"),
                 ("session", "create", "S", "--conference", "C", "--start", "now",
                  "--end", "+1h")):  # fmt: skip
        assert cli(*args, "--db", db).code == 0
    with engine.connect() as connection:
        site_id = connection.scalar(select(Site.id))
        session_id = connection.scalar(select(ConferenceSession.id))
    settings = Settings.model_validate({"redis": {"url": "redis://127.0.0.1:1/0"}})
    clock = ManualClock()
    worker = ClusterWorker(settings, engine, pool=DetectionPool(1), clock=clock)

    async def scenario() -> tuple[str, float]:
        stop = asyncio.Event()
        writing = asyncio.create_task(worker.sampler.writer.run(stop))
        asked = time.monotonic()
        outcome = await worker._sample_job({}, site_id, session_id, clock.now() - 125, 60.0)
        took = time.monotonic() - asked
        stop.set()
        await writing
        return outcome, took

    try:
        outcome, took = asyncio.run(scenario())
    finally:
        worker.sampler.pool.close()
    assert outcome == "late" and took < 5  # no grab (the camera does not even exist)
    with engine.connect() as connection:
        status, error = connection.execute(select(Sample.status, Sample.error)).one()
    assert status == "error" and error == "not sampled: workers 125 s behind"
