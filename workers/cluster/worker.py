"""A cluster worker process: takes the jobs of its own arq queue, samples them with the same
`Sampler` as the embedded runtime, beats its heart, and stands by to schedule.

A job finishes only once its sample is in the database, so a killed worker loses no sample it
reported done; its unfinished jobs are moved to other workers by the scheduler. Losing Redis
stops nothing for good: taking jobs, heartbeats and scheduling resume once it is back, and
samples in hand keep going to the database meanwhile. Losing the database holds samples in the
writer, retried until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from arq import Worker
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import func
from redis.exceptions import RedisError
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from attendance.clock import SYSTEM, Clock
from attendance.config import Settings
from attendance.live.bus import EventBus
from attendance.outage import Outage
from attendance.store.db import transaction
from attendance.store.faces import site_galleries
from attendance.store.identifications import last_stranger_labels
from attendance.store.models import SampleStatus, Site
from workers.cluster.names import SAMPLE_JOB, Names
from workers.cluster.routing import Registry
from workers.cluster.scheduler import Scheduler
from workers.pool import DetectionPool
from workers.sampler import Sampler, SiteRun, site_problem, worker_id
from workers.schedule import as_datetime
from workers.slots import drain

log = logging.getLogger("attendance.worker")
IDLE_SITE_CADENCES = 3  # a site without a job for this many cadences moved away: close it
REPORT_EVERY_S = 30.0
# A job this many cadences past its slot's start is recorded unsampled, so a backlog drains
# instead of growing (arq drops jobs older than EXPIRE_CADENCES, a last resort).
LATE_CADENCES = 2
LOAD_TRIES = 30  # 2 s apart: a database restart, not an outage of hours


@dataclass
class SessionSites:
    """What sampling a session's sites needs from the database, loaded once per session."""

    session_id: int
    sites: dict[int, Site]
    galleries: dict[int, Any]
    strangers: dict[int, int]


@dataclass
class Held:
    run: SiteRun
    last_job: float  # epoch s


class ClusterWorker:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        bus: EventBus | None = None,
        pool: DetectionPool | None = None,
        clock: Clock = SYSTEM,
    ):
        if not settings.redis.url:
            raise ValueError("cluster workers need redis.url (e.g. ATTENDANCE_REDIS_URL)")
        self.settings, self.engine, self.clock = settings, engine, clock
        self.sampler = Sampler(
            engine, settings.sampling, bus, pool, settings.identify, settings.evidence, clock
        )
        self.id = f"{worker_id()}:{secrets.token_hex(2)}"  # a pid may be reused
        self.names = Names(settings.redis.prefix)
        self.held: dict[int, Held] = {}  # site id → its stream and memory, while we own it
        self.session: SessionSites | None = None
        self.http: aiohttp.ClientSession | None = None
        self.redis: ArqRedis | None = None
        self.arq: Worker | None = None
        self.scheduler: Scheduler | None = None
        self._load_lock = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        """Take jobs until `stop`; then finish (or interrupt) those in hand and store all."""
        self.redis = await self._connect(stop)
        if self.redis is None:
            return
        cluster = self.settings.redis
        self.scheduler = Scheduler(
            self.engine, self.redis, self.id, self.settings.sampling, cluster, self.clock
        )
        registry = Registry(self.redis, self.names.workers)
        stop_writer = asyncio.Event()
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        tasks = [
            asyncio.create_task(self.sampler.writer.run(stop_writer)),
            asyncio.create_task(self._beat(registry, stop)),
            asyncio.create_task(self._tend(stop)),
        ]
        taking = asyncio.create_task(self._take_jobs(stop))
        scheduling = asyncio.create_task(self.scheduler.run(stop))
        log.info("worker %s ready: queue %s", self.id, self.names.queue(self.id))
        stopped = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                {stopped, taking, scheduling}, return_when=asyncio.FIRST_COMPLETED
            )
            if stopped not in done:  # a bug: stop, so that our sites move to live workers
                failed = done.pop()
                stop.set()
                raise RuntimeError("a worker task ended") from failed.exception()
        finally:
            await self._stop(registry, taking, scheduling)
            self.sampler.detection.close()
            for task in tasks[1:]:
                task.cancel()
            stop_writer.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.sampler.close([held.run for held in self.held.values()])
            await self.http.close()
            await self.redis.aclose()

    async def _connect(self, stop: asyncio.Event) -> ArqRedis | None:
        settings = RedisSettings.from_dsn(self.settings.redis.url)
        while not stop.is_set():
            try:
                return await create_pool(settings, retry=0)
            except (RedisError, OSError) as exc:
                log.warning("Redis unreachable (%s); retrying", exc)
                await SYSTEM.sleep(2.0, stop)
        return None

    async def _take_jobs(self, stop: asyncio.Event) -> None:
        """arq's worker loop on our queue, started again whenever Redis drops it."""
        timeout = 2 * max(60, 3 * self.settings.sampling.cadence_s)
        outage = Outage(log, "taking jobs: Redis")
        while not stop.is_set():
            self.arq = Worker(
                functions=[func(self._sample_job, name=SAMPLE_JOB, max_tries=3)],
                queue_name=self.names.queue(self.id),
                redis_pool=self.redis,
                handle_signals=False,
                max_jobs=self.settings.redis.max_jobs,
                job_timeout=timeout,
                keep_result=max(300, 2 * self.settings.redis.lease_s),
                poll_delay=0.2,
                log_results=False,
            )
            try:
                await self.redis.ping()
                outage.over()
                await self.arq.main()
            except (RedisError, OSError) as exc:
                # Jobs in hand go on to store their samples; arq cannot mark them done.
                for task in self.arq.tasks.values():
                    task.add_done_callback(_quietly)
                await SYSTEM.sleep(outage.failed(exc), stop)

    async def _sample_job(
        self, ctx: dict, site_id: int, session_id: int, slot: float, cadence: float
    ) -> str:
        """arq job: record `slot` of the site, returning once the sample is stored."""
        behind = self.clock.now() - slot
        if behind > LATE_CADENCES * cadence:  # overloaded: record it cheaply, catch up
            await self._unsampled(site_id, session_id, slot, f"workers {behind:.0f} s behind")
            return "late"
        run = await self._site_run(site_id, session_id, cadence)
        if isinstance(run, str):  # the site changed since it was scheduled
            await self._unsampled(site_id, session_id, slot, run)
            return "error"
        await (await self.sampler.sample(run, slot, session_id, self.http))
        return "stored"

    def _unsampled(self, site_id: int, session_id: int, slot: float, why: str) -> asyncio.Future:
        """A slot not sampled is still a sample, with the reason: never a silent gap."""
        return self.sampler.writer.add(
            {
                "site_id": site_id,
                "session_id": session_id,
                "slot": as_datetime(slot),
                "worker_id": self.sampler.worker,
                "status": str(SampleStatus.ERROR),
                "error": f"not sampled: {why}",
            }
        )

    async def _site_run(self, site_id: int, session_id: int, cadence: float) -> SiteRun | str:
        """The held site, or a new one from the session's sites; a string says why not."""
        held = self.held.get(site_id)
        if held is not None and self.session and self.session.session_id == session_id:
            held.last_job = self.clock.now()
            return held.run
        async with self._load_lock:
            if self.session is None or self.session.session_id != session_id:
                self.session = await asyncio.to_thread(self._load_session, session_id)
                await self.sampler.close([held.run for held in self.held.values()])
                self.held.clear()
            site = self.session.sites.get(site_id)
            if site is None:  # added since the session's sites were loaded
                self.session = await asyncio.to_thread(self._load_session, session_id)
                site = self.session.sites.get(site_id)
        if site is None or not site.enabled:
            return "site removed or disabled after it was scheduled"
        problem = site_problem(site)
        if problem:
            return problem
        held = self.held.get(site_id)
        if held is None:
            gallery = self.session.galleries.get(site_id)
            strangers = self.session.strangers.get(site_id, 0)
            run = self.sampler.site_run(site, cadence, gallery, strangers)
            held = self.held[site_id] = Held(run, self.clock.now())
        return held.run

    def _load_session(self, session_id: int) -> SessionSites:
        for _ in range(LOAD_TRIES - 1):
            try:
                return self._read_session(session_id)
            except OperationalError as exc:  # the database is away: wait for it a while
                log.warning("cannot load the sites (%s); retrying", exc.orig)
                time.sleep(2.0)
        return self._read_session(session_id)

    def _read_session(self, session_id: int) -> SessionSites:
        with transaction(self.engine) as session:
            sites = {site.id: site for site in session.scalars(select(Site))}
        galleries = site_galleries(self.engine, list(sites))
        return SessionSites(
            session_id, sites, galleries, last_stranger_labels(self.engine, session_id)
        )

    async def _beat(self, registry: Registry, stop: asyncio.Event) -> None:
        outage = Outage(log, "heartbeat: Redis")
        while not stop.is_set():
            try:
                await registry.beat(self.id)
                outage.over()
            except (RedisError, OSError) as exc:
                outage.failed(exc)
            await SYSTEM.sleep(self.settings.redis.heartbeat_s, stop)  # beats age on Redis

    async def _tend(self, stop: asyncio.Event) -> None:
        """Report now and then; close the streams of sites that moved to another worker."""
        while not stop.is_set():
            await self.clock.sleep(REPORT_EVERY_S, stop)
            now = self.clock.now()
            gone = [
                site_id
                for site_id, held in self.held.items()
                if now - held.last_job > IDLE_SITE_CADENCES * held.run.cadence
            ]
            await self.sampler.close([self.held.pop(site_id).run for site_id in gone])
            self.sampler.report()
            log.info(
                "worker %s: %d sites held (%d released); leading: %s",
                self.id,
                len(self.held),
                len(gone),
                self.scheduler.leading,
            )

    async def _stop(self, registry: Registry, taking: asyncio.Task, scheduling: asyncio.Task):
        """Stop taking jobs, leave (so our queue moves at once), finish or interrupt the rest."""
        if self.arq is not None:
            self.arq.allow_pick_jobs = False
        with contextlib.suppress(RedisError, OSError):
            await registry.leave(self.id)
        await scheduling  # hands the lease back if it held it
        await drain(list(self.arq.tasks.values()) if self.arq else [])
        taking.cancel()
        await asyncio.gather(taking, return_exceptions=True)


def _quietly(task: asyncio.Task) -> None:
    """Retrieve a finished arq task's error (Redis was gone when it finished) so it is not
    reported as never retrieved: its sample is stored, and the outage is logged once."""
    if not task.cancelled():
        task.exception()
