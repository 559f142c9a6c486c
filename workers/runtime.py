"""The embedded runtime: schedule every site's slots in this process and sample them.

One asyncio loop does the network (every source) and the bookkeeping; detection runs in the
process pool; samples reach the database in batches (all in the shared `Sampler`). On stop,
samples already in flight get a grace period, the rest are recorded as `interrupted`, and
everything pending is written before returning.
"""

from __future__ import annotations

import asyncio
import logging
import random

import aiohttp
from sqlalchemy import Engine

from attendance.clock import SYSTEM, Clock
from attendance.config import EvidenceSettings, IdentifySettings, SamplingSettings
from attendance.live.bus import EventBus
from attendance.store.faces import site_galleries
from attendance.store.identifications import last_stranger_labels
from attendance.store.models import ConferenceSession
from attendance.store.sessions import active_session, next_session
from workers.pool import DetectionPool
from workers.sampler import Progress, Sampler, SiteRun
from workers.schedule import as_datetime
from workers.slots import PlannedSite, SlotHeap, drain, load_sites, plan_slots

log = logging.getLogger("attendance.worker")
REPORT_EVERY_S = 30.0
SESSION_POLL_S = 15.0


class EmbeddedRuntime:
    def __init__(
        self,
        engine: Engine,
        sampling: SamplingSettings,
        bus: EventBus | None = None,
        pool: DetectionPool | None = None,
        identify: IdentifySettings | None = None,
        evidence: EvidenceSettings | None = None,
        clock: Clock = SYSTEM,
    ):
        self.engine, self.sampling, self.clock = engine, sampling, clock
        self.sampler = Sampler(engine, sampling, bus, pool, identify, evidence, clock)
        self.pool, self.writer = self.sampler.pool, self.sampler.writer
        self.rng = random.Random()
        self.skipped: dict[str, str] = {}  # site code -> why it is not sampled
        self.window: tuple[float, float] | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def progress(self) -> Progress:
        return self.sampler.progress

    async def run(self, stop: asyncio.Event, until: float | None = None) -> Progress:
        """Sample until `stop` is set, `until` (epoch s) passes or the session ends."""
        session = await wait_for_session(self.engine, stop, until, self.clock)
        if session is None:
            return self.progress
        ends = (
            session.ends_at.timestamp()
            if until is None
            else min(until, session.ends_at.timestamp())
        )
        sites, self.skipped = load_sites(self.engine, session.cadence_s, self.sampling)
        runs = self._site_runs(session, sites)
        log.info(
            "session %s: sampling %d sites until %s", session.code, len(runs), as_datetime(ends)
        )
        started = self.sampler.started = self.clock.now()
        self.window = (started, ends)  # slots from the one holding `started` until `ends`
        log.info("schedule window %.3f %.3f", started, ends)  # read by `attendance bench workers`
        writer = asyncio.create_task(self.writer.run(stop_writer := asyncio.Event()))
        # No pool limit: every open MJPEG camera holds a connection for good; `max_grabs` bounds
        # the grabs in flight instead.
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            try:
                await self._schedule(sites, runs, session.id, http, stop, started, ends)
            finally:
                await self._finish(runs)
                stop_writer.set()
                await writer
        return self.progress

    def _site_runs(self, session: ConferenceSession, sites: list[PlannedSite]) -> list[SiteRun]:
        ids = [planned.site.id for planned in sites]
        galleries = site_galleries(self.engine, ids)
        strangers = last_stranger_labels(self.engine, session.id)
        runs = [
            self.sampler.site_run(
                planned.site,
                planned.cadence,
                galleries.get(planned.site.id),
                strangers.get(planned.site.id, 0),
            )
            for planned in sites
        ]
        log.info("identifying faces at %d sites", sum(run.identity is not None for run in runs))
        return runs

    async def _schedule(
        self,
        sites: list[PlannedSite],
        runs: list[SiteRun],
        session_id: int,
        http: aiohttp.ClientSession,
        stop: asyncio.Event,
        now: float,
        ends: float,
    ) -> None:
        heap = SlotHeap(self.sampling.jitter, self.rng)
        slots = plan_slots(self.engine, sites, now, 2 * self.sampling.cadence_s, heap)
        next_report = now + REPORT_EVERY_S
        while not stop.is_set():
            for index, slot in slots.take_due(self.clock.now(), ends):
                task = asyncio.create_task(self.sampler.sample(runs[index], slot, session_id, http))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if not slots:
                return
            wait = slots.next_due - self.clock.now()
            if wait > 0:
                await self.clock.sleep(min(wait, 1.0), stop)
                if self.clock.now() >= next_report:
                    self.sampler.report()
                    next_report += REPORT_EVERY_S

    @property
    def in_flight(self) -> int:
        """Samples taken from the schedule and not yet handed to the writer."""
        return len(self._tasks)

    async def _finish(self, runs: list[SiteRun]) -> None:
        await drain(self._tasks)
        self.sampler.detection.close()
        await self.sampler.close(runs)


async def wait_for_session(
    engine: Engine, stop: asyncio.Event, until: float | None = None, clock: Clock = SYSTEM
) -> ConferenceSession | None:
    """The active session, waiting for the next one to start if none is running."""
    while not stop.is_set() and (until is None or clock.now() < until):
        session = await asyncio.to_thread(active_session, engine, as_datetime(clock.now()))
        if session is not None:
            return session
        upcoming = await asyncio.to_thread(next_session, engine, as_datetime(clock.now()))
        log.info(
            "no active session; %s",
            f"next: {upcoming.code} at {upcoming.starts_at}" if upcoming else "none planned",
        )
        await clock.sleep(SESSION_POLL_S, stop)
    return None
