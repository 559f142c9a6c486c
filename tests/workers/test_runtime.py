"""The embedded runtime against the real simulator: faults, cadence, restarts, clean stops."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from attendance.clock import SYSTEM, Clock, ManualClock
from attendance.conferences import create_conference, create_session
from attendance.config import DatabaseSettings, SamplingSettings
from attendance.examples.generate import write_table
from attendance.importing.sites import import_sites
from attendance.live.bus import EventBus
from attendance.live.events import Event, SampleEvent
from attendance.simulate.cameras import CameraSettings
from attendance.store.db import make_engine, transaction
from attendance.store.migrate import upgrade
from attendance.store.models import Sample, Site
from tests.helpers import SITE_COLUMNS, site
from tests.simulate.harness import CODES, run, running
from workers.pool import DetectionPool
from workers.runtime import EmbeddedRuntime
from workers.schedule import as_datetime, phase, slot_start

CADENCE = 5
FAULTS = {CODES[1]: "timeout", CODES[2]: "garbage", CODES[3]: "black", CODES[4]: "http500"}
EXPECTED = {CODES[1]: {"timeout"}, CODES[2]: {"decode_error"}, CODES[3]: {"dark"},
            CODES[4]: {"no_frame"}}  # fmt: skip
MALFORMED = CODES[5]
SAMPLING = SamplingSettings(cadence_s=CADENCE, grab_timeout_s=1.5, jitter=0.05, processes=1,
                            stale_after_s=10, offline_after_s=30)  # fmt: skip


def _prepare(tmp_path: Path, base_url: str, codes: tuple[str, ...] = CODES[:5]):
    rows = [site(code, stream_url=f"{base_url}cameras/{code}/snapshot.jpg") for code in codes]
    rows.append(site(MALFORMED, stream_url=f"{base_url}mcu/0/snapshot.jpg#grid=0x4&tile=1"))
    return _database(tmp_path, rows, time.time(), 600)


def _dead_sites(tmp_path: Path, codes: tuple[str, ...], now: float) -> Engine:
    """Sites whose cameras refuse connections (each slot a quick `error`: cannot connect), and
    a session around `now`."""
    rows = [site(code, stream_url="http://127.0.0.1:9/snapshot.jpg") for code in codes]
    return _database(tmp_path, rows, now, 7200)


def _database(tmp_path: Path, rows: list[dict], now: float, left: float) -> Engine:
    """The sites of `rows`, and a session from a minute before `now` to `left` s after."""
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'w.db'}"))
    upgrade(engine)
    path = write_table(rows, tmp_path / "sites.csv", {name: name for name in SITE_COLUMNS})
    import_sites(engine, path, default_timezone="Asia/Ho_Chi_Minh")
    with transaction(engine) as session:
        create_conference(session, "C", "Test")
        create_session(session, "C", "S", "S", as_datetime(now - 60), as_datetime(now + left))
    return engine


class RecordingBus(EventBus):
    """The in-process bus, keeping every event published on it."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)
        super().publish(event)


async def _run_for(
    engine, seconds: float, clock: Clock = SYSTEM, sampling: SamplingSettings = SAMPLING
) -> tuple[EmbeddedRuntime, float, float, RecordingBus]:
    """Run the runtime `seconds` of `clock`; a manual clock jumps whenever no sample is in
    flight, so a run takes as long as its samples, not as its schedule."""
    bus = RecordingBus()
    runtime = EmbeddedRuntime(engine, sampling, bus, DetectionPool(1), clock=clock)
    jumping = None
    if isinstance(clock, ManualClock):
        jumping = asyncio.create_task(clock.autojump(lambda: runtime.in_flight > 0))
    try:
        await runtime.run(asyncio.Event(), clock.now() + seconds)
    finally:
        if jumping is not None:
            jumping.cancel()
        runtime.pool.close()
    started, until = runtime.window
    return runtime, started, until, bus


def _slots(engine) -> dict[str, dict]:
    with transaction(engine) as session:
        rows = session.execute(
            select(Site.code, Sample.slot, Sample.status).join(Site, Sample.site_id == Site.id)
        ).all()
    slots: dict[str, dict] = {}
    for code, slot, status in rows:
        slots.setdefault(code, {})[round(slot.timestamp(), 3)] = status
    return slots


def _due(code: str, started: float, until: float, cadence: float = CADENCE) -> set[float]:
    slot = slot_start(started, cadence, phase(code, cadence))
    due = set()
    while slot < until:
        due.add(round(slot, 3))
        slot += cadence
    return due


async def _scenario(tmp_path: Path) -> None:
    async with running(clock=lambda: 0.0) as simulator:
        for code, kind in FAULTS.items():
            await simulator.set_fault(code, kind)
        engine = _prepare(tmp_path, str(simulator.server.make_url("/")))
        first, start1, until1, bus = await _run_for(engine, 16)
        assert "grid" in first.skipped[MALFORMED]
        # Restarted at once, most sites within a slot the first run stored (gaps of a stopped
        # runtime: `test_a_stopped_runtime_leaves_a_gap_and_a_restart_stores_no_slot_twice`).
        _, start2, until2, _ = await _run_for(engine, 11)

    slots = _slots(engine)
    assert MALFORMED not in slots
    for code in CODES[:5]:
        due = _due(code, start1, until1) | _due(code, start2, until2)
        assert set(slots[code]) == due, f"{code}: every slot while running, no other"
        statuses = set(slots[code].values())
        assert statuses == EXPECTED.get(code, statuses & {"ok", "gated"}), (code, statuses)
    assert "ok" in slots[CODES[0]].values() and "gated" in slots[CODES[0]].values()
    with transaction(engine) as session:
        total = session.scalar(select(func.count()).select_from(Sample))
        distinct = session.execute(select(Sample.site_id, Sample.slot).distinct()).all()
        figures = session.execute(
            select(Sample.status, Sample.face_count, Sample.remembered)
            .join(Site, Sample.site_id == Site.id)
            .where(Site.code.in_(CODES[:2]))
        ).all()
    assert total == len(distinct)
    # Counts record how many of them came from seat memory; failures record none.
    assert all(
        (remembered is not None and 0 <= remembered <= count)
        if status in ("ok", "gated")
        else remembered is None
        for status, count, remembered in figures
    )
    assert {status for status, _, _ in figures} >= {"ok", "timeout"}
    # one event per sample, nothing more: a site's status is judged by the web nodes
    assert bus.published == sum(first.progress.by_status.values())
    # …and each says what was stored: the sample's site, slot, status and count, typed.
    assert all(isinstance(event, SampleEvent) for event in bus.events)
    with transaction(engine) as session:
        stored = {
            (code, slot.timestamp()): (status, count)
            for code, slot, status, count in session.execute(
                select(Site.code, Sample.slot, Sample.status, Sample.face_count).join(
                    Site, Sample.site_id == Site.id
                )
            )
        }
    told = {(e.site, e.slot.timestamp()): (e.status, e.count) for e in bus.events}
    assert told and {key: stored.get(key) for key in told} == told


def test_faults_cadence_and_restart(tmp_path: Path):
    """Each fault site gets its own status while the others keep their cadence; a restart
    records every slot of the time it runs, none twice; a malformed URL is skipped at start."""
    run(_scenario(tmp_path))


def test_a_stopped_runtime_leaves_a_gap_and_a_restart_stores_no_slot_twice(tmp_path: Path):
    """Driven by a manual clock: ten minutes of minute slots run as fast as their samples.
    Every slot of a run's window is sampled once; the slots while it is stopped are not caught
    up; a restart within a slot already stored starts with the next one."""
    cadence, codes = 60.0, ("A-1", "A-2", "A-3")
    sampling = SAMPLING.model_copy(update={"cadence_s": cadence})
    clock = ManualClock(1_800_000_000.0)
    engine = _dead_sites(tmp_path, codes, clock.now())

    async def scenario() -> list[tuple[float, float, int]]:
        windows = []
        for gap in (0.0, 2.5 * cadence, 1.0):
            clock.advance(gap)
            runtime, started, until, _ = await _run_for(engine, 10 * cadence, clock, sampling)
            windows.append((started, until, sum(runtime.progress.by_status.values())))
        return windows

    wall = time.monotonic()
    (start1, until1, _), (start2, until2, sampled2), (start3, until3, sampled3) = run(scenario())
    assert time.monotonic() - wall < 60, "the schedule ran in real time"
    slots = _slots(engine)
    for code in codes:
        windows = [_due(code, a, b, cadence) for a, b in ((start1, until1), (start2, until2))]
        third = _due(code, start3, until3, cadence)
        assert set(slots[code]) == windows[0] | windows[1] | third
        assert set(slots[code].values()) == {"error"}  # refused: "cannot connect to …"
        gap = _due(code, until1, start2, cadence) - windows[0] - windows[1]
        assert gap and not gap & set(slots[code]), f"{code}: slots of the gap caught up"
    # The third run began a second after the second ended, inside slots it had stored.
    assert sampled2 == sum(len(_due(code, start2, until2, cadence)) for code in codes)
    assert sampled3 == sum(
        len(_due(code, start3, until3, cadence) - _due(code, start2, until2, cadence))
        for code in codes
    )


async def _restart_scenario(tmp_path: Path) -> tuple[Engine, float]:
    code = CODES[0]
    camera = CameraSettings(1280, 720)  # big enough faces to learn the camera's perspective
    async with running(clock=lambda: 1200.0, camera=camera, codes=(code,)) as simulator:
        engine = _prepare(tmp_path, str(simulator.server.make_url("/")), (code,))
        clock = ManualClock(time.time())  # two slots a run, at the pace of their counts
        await _run_for(engine, 2 * CADENCE, clock)
        _, restarted, _, _ = await _run_for(engine, 2 * CADENCE, clock)
    return engine, restarted


def test_a_restarted_worker_keeps_what_it_learned_of_the_camera(tmp_path: Path):
    engine, restarted = run(_restart_scenario(tmp_path))
    code = CODES[0]
    first_slot = as_datetime(slot_start(restarted, CADENCE, phase(code, CADENCE)))
    with transaction(engine) as session:
        stored = session.scalar(select(Site.perspective).where(Site.code == code))
        modes = session.scalars(
            select(Sample.detector["mode"].as_string())
            .join(Site, Sample.site_id == Site.id)
            .where(Site.code == code, Sample.status == "ok", Sample.slot >= first_slot)
            .order_by(Sample.slot)
        ).all()
    assert stored["model"]["faces"] >= 5 and stored["learned_at"] > 0
    assert modes and "calibrate" not in modes, "the restarted worker relearned the camera"
    assert modes[0] == "full"
