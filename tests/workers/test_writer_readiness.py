"""/readyz while samples cannot be stored (issue 14, finding 7): it said ready for 300 s with a
full disk. Now a writer's failure makes it not ready at once, saying why, until a batch is
stored again. The failure is real: another connection holds the lock the writer needs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from attendance.store.db import transaction
from attendance.store.models import Sample, Site
from tests.web.harness import run, serving
from tests.web.test_api import quick_passwords, seed  # noqa: F401 (a fixture)
from workers.writer import SampleWriter


def _impatient(db_url: str) -> Engine:
    """The writer's engine: it gives up on a lock after half a second, not 30 s."""
    if db_url.startswith("sqlite"):
        return create_engine(db_url, connect_args={"timeout": 0.5})
    url = make_url(db_url)
    options = f"{url.query.get('options', '')} -clock_timeout=500".strip()
    return create_engine(url.update_query_dict({"options": options}))


def _lock_samples(connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN EXCLUSIVE")
    else:
        connection.execute(text("LOCK TABLE samples IN ACCESS EXCLUSIVE MODE"))


async def _readiness(http) -> tuple[int, list[str]]:
    async with http.get("/readyz") as response:
        return response.status, (await response.json())["problems"]


async def _until(http, status: int, seconds: float) -> list[str]:
    for _ in range(int(seconds * 10)):
        answer, problems = await _readiness(http)
        if answer == status:
            return problems
        await asyncio.sleep(0.1)
    raise AssertionError(f"/readyz never answered {status}: {problems}")


def test_readyz_is_not_ready_while_the_writer_cannot_store(db, engine):
    seed(engine)
    with transaction(engine) as session:
        site_id = session.scalar(select(Site.id).where(Site.code == "HN01"))
        stored = session.scalar(select(func.count()).select_from(Sample))
    row = {"site_id": site_id, "slot": datetime.now(UTC), "status": "no_frame"}
    writer_engine = _impatient(db)

    async def scenario():
        async with serving(db) as web, web.client() as http:
            writer = SampleWriter(writer_engine, web.bus, "test-worker")
            stop = asyncio.Event()
            running = asyncio.create_task(writer.run(stop))
            assert await _readiness(http) == (200, [])
            with engine.connect() as lock:
                _lock_samples(lock)
                writer.add(row)
                problems = await _until(http, 503, 10)
                assert len(problems) == 1 and "writer test-worker cannot store" in problems[0]
                assert "lock" in problems[0], problems  # the database's own words
                lock.rollback()
            await _until(http, 200, 10)  # the next retry stored the row
            stop.set()
            await running
            assert writer.last_error is None

    run(scenario())
    writer_engine.dispose()
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Sample)) == stored + 1
