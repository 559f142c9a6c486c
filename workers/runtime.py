"""The embedded runtime: schedule every site's slots in this process and sample them.

One asyncio loop does the network (every source) and the bookkeeping; detection runs in the
process pool; samples reach the database in batches (all in the shared `Sampler`). On stop,
samples already in flight get a grace period, the rest are recorded as `interrupted`, and
everything pending is written before returning.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import time

import aiohttp
from sqlalchemy import Engine

from attendance.config import EvidenceSettings, IdentifySettings, SamplingSettings, mask_url
from attendance.live.bus import EventBus
from attendance.store.faces import site_galleries
from attendance.store.identifications import last_stranger_labels
from attendance.store.models import ConferenceSession
from attendance.store.samples import active_session, next_session, recorded_slots, sampled_sites
from workers.pool import DetectionPool
from workers.sampler import Progress, Sampler, SiteRun, site_cadence, site_problem
from workers.schedule import as_datetime, pause, phase, slot_start

log = logging.getLogger("attendance.worker")
STOP_GRACE_S = 10.0
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
    ):
        self.engine, self.sampling = engine, sampling
        self.sampler = Sampler(engine, sampling, bus, pool, identify, evidence)
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
        session = await wait_for_session(self.engine, stop, until)
        if session is None:
            return self.progress
        ends = (
            session.ends_at.timestamp()
            if until is None
            else min(until, session.ends_at.timestamp())
        )
        runs = self._site_runs(session)
        log.info(
            "session %s: sampling %d sites until %s", session.code, len(runs), as_datetime(ends)
        )
        started = self.sampler.started = time.time()
        self.window = (started, ends)  # slots from the one holding `started` until `ends`
        log.info("schedule window %.3f %.3f", started, ends)  # read by `attendance bench workers`
        writer = asyncio.create_task(self.writer.run(stop_writer := asyncio.Event()))
        # No pool limit: every open MJPEG camera holds a connection for good; `max_grabs` bounds
        # the grabs in flight instead.
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            try:
                await self._schedule(runs, session, http, stop, started, ends)
            finally:
                await self._finish(runs)
                stop_writer.set()
                await writer
        return self.progress

    def _site_runs(self, session: ConferenceSession) -> list[SiteRun]:
        runs = []
        sites = sampled_sites(self.engine)
        galleries = site_galleries(self.engine, [site.id for site in sites])
        strangers = last_stranger_labels(self.engine, session.id)
        for site in sites:
            problem = site_problem(site)
            if problem:
                self.skipped[site.code] = problem
                log.error("site %s skipped: %s (%s)", site.code, problem, mask_url(site.stream_url))
                continue
            cadence = site_cadence(site, session.cadence_s, self.sampling)
            gallery = galleries.get(site.id)
            runs.append(self.sampler.site_run(site, cadence, gallery, strangers.get(site.id, 0)))
        log.info("identifying faces at %d sites", sum(run.identity is not None for run in runs))
        return runs

    async def _schedule(
        self,
        runs: list[SiteRun],
        session: ConferenceSession,
        http: aiohttp.ClientSession,
        stop: asyncio.Event,
        now: float,
        ends: float,
    ) -> None:
        done = recorded_slots(
            self.engine,
            [run.site.id for run in runs],
            as_datetime(now - 2 * self.sampling.cadence_s),
        )
        queue: list[tuple[float, int, float]] = []
        for index, run in enumerate(runs):
            slot = slot_start(now, run.cadence, phase(run.site.code, run.cadence))
            if (run.site.id, as_datetime(slot)) in done:
                slot += run.cadence  # a restart: this slot is already stored
            heapq.heappush(queue, (self._due(slot, run.cadence), index, slot))
        next_report = now + REPORT_EVERY_S
        while queue and not stop.is_set():
            due, index, slot = queue[0]
            if slot >= ends:
                heapq.heappop(queue)
                continue
            wait = due - time.time()
            if wait > 0:
                await pause(stop, min(wait, 1.0))
                if time.time() >= next_report:
                    self.sampler.report()
                    next_report += REPORT_EVERY_S
                continue
            heapq.heappop(queue)
            run = runs[index]
            task = asyncio.create_task(self.sampler.sample(run, slot, session.id, http))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            next_slot = slot + run.cadence
            heapq.heappush(queue, (self._due(next_slot, run.cadence), index, next_slot))

    def _due(self, slot: float, cadence: float) -> float:
        return slot + self.rng.uniform(0, self.sampling.jitter * cadence)

    async def _finish(self, runs: list[SiteRun]) -> None:
        if self._tasks:
            log.info("stopping: %d samples in flight", len(self._tasks))
            _, late = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self.sampler.detection.close()
        await self.sampler.close(runs)


async def wait_for_session(
    engine: Engine, stop: asyncio.Event, until: float | None = None
) -> ConferenceSession | None:
    """The active session, waiting for the next one to start if none is running."""
    while not stop.is_set() and (until is None or time.time() < until):
        session = await asyncio.to_thread(active_session, engine, as_datetime(time.time()))
        if session is not None:
            return session
        upcoming = await asyncio.to_thread(next_session, engine, as_datetime(time.time()))
        log.info(
            "no active session; %s",
            f"next: {upcoming.code} at {upcoming.starts_at}" if upcoming else "none planned",
        )
        await pause(stop, SESSION_POLL_S)
    return None
