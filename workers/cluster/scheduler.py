"""The cluster's scheduler: one arq job per (site, slot), each in the queue of the worker that
owns the site, enqueued when the slot is due.

Every worker process runs one; only the holder of the lease schedules, the others stand by and
take over within `lease_s` of the holder's death. Two schedulers overlapping for a moment (an
old holder that has not noticed yet) do no harm: a job id is its (site, slot), so arq refuses
a second enqueue, and the database refuses a second sample of a slot.

On taking over, a scheduler enqueues every slot of the last `lease_s + cadence` seconds that is
not stored: those a dead holder may have missed. It also moves the queued jobs of workers that
stopped beating to their sites' new owners, so a killed worker's slots are sampled by others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from redis.exceptions import RedisError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from attendance.clock import SYSTEM, Clock
from attendance.config import RedisSettings, SamplingSettings
from attendance.store.models import ConferenceSession
from attendance.store.sessions import active_session
from workers.cluster.enqueue import Enqueuer, Job
from workers.cluster.lease import Lease
from workers.cluster.names import SAMPLE_JOB, Names
from workers.cluster.routing import Registry, owner
from workers.schedule import as_datetime
from workers.slots import PlannedSite, SlotHeap, load_sites, plan_slots

log = logging.getLogger("attendance.scheduler")
IDLE_POLL_S = 5.0  # between looks for an active session, while leading
ENQUEUE_BATCH = 1000
EXPIRE_CADENCES = 5  # arq drops a job not started by then; workers record late ones before


@dataclass
class Plan:
    session_id: int
    starts: float
    ends: float
    sites: list[PlannedSite]


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        redis: ArqRedis,
        holder: str,
        sampling: SamplingSettings,
        cluster: RedisSettings,
        clock: Clock = SYSTEM,
    ):
        self.engine, self.redis, self.holder, self.clock = engine, redis, holder, clock
        self.sampling, self.cluster = sampling, cluster
        self.names = Names(cluster.prefix)
        self.lease = Lease(redis, self.names.leader, holder, cluster.lease_s)
        self.registry = Registry(redis, self.names.workers)
        self.enqueuer = Enqueuer(redis)
        self.rng = random.Random()
        self.leading = False
        self.enqueued = 0
        self.workers: list[str] = []

    async def run(self, stop: asyncio.Event) -> None:
        """Stand by, lead when the lease is ours, until `stop`; then hand the lease back."""
        try:
            while not stop.is_set():
                try:
                    if await self.lease.hold():
                        await self._lead(stop)
                except (RedisError, OSError) as exc:
                    self._step_down(f"Redis: {exc}")
                except OperationalError as exc:  # the database is away: lead again later
                    await self._hand_over(f"database: {exc.orig}")
                except Exception:  # a bug: let a standby try rather than stop scheduling
                    log.exception("scheduler %s failed", self.holder)
                    await self._hand_over("failed")
                await SYSTEM.sleep(self._renew_every, stop)  # the lease lives on Redis's time
        finally:
            if self.leading:
                with contextlib.suppress(RedisError, OSError):
                    await self.lease.release()
                self._step_down("stopping")

    @property
    def _renew_every(self) -> float:
        return self.cluster.lease_s / 3

    async def _hand_over(self, why: str) -> None:
        self._step_down(why)
        with contextlib.suppress(RedisError, OSError):
            await self.lease.release()

    def _step_down(self, why: str) -> None:
        if self.leading:
            log.warning("scheduler %s: no longer leading (%s)", self.holder, why)
        self.leading = False

    async def _lead(self, stop: asyncio.Event) -> None:
        """Schedule while the lease is renewed; return when it is lost or on `stop`."""
        self.leading = True
        log.info("scheduler %s: leading", self.holder)
        lost = asyncio.Event()
        renewing = asyncio.create_task(self._keep_lease(lost))
        try:
            await self._schedule(stop, lost)
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
        if lost.is_set():
            self._step_down("the lease was lost")

    async def _keep_lease(self, lost: asyncio.Event) -> None:
        """Renew apart from the scheduling loop, so a burst of enqueues cannot let it lapse."""
        try:
            while await self.lease.renew():
                await asyncio.sleep(self._renew_every)
        except (RedisError, OSError) as exc:
            log.warning("scheduler %s: cannot renew the lease (%s)", self.holder, exc)
        lost.set()

    async def _schedule(self, stop: asyncio.Event, lost: asyncio.Event) -> None:
        plan = None
        slots = SlotHeap(self.sampling.jitter, self.rng)
        census_at = 0.0
        while not stop.is_set() and not lost.is_set():
            now = self.clock.now()
            if now >= census_at:
                await self._census()
                census_at = now + self.cluster.heartbeat_s
            if not slots and (plan is None or now >= plan.ends):
                plan = await asyncio.to_thread(self._plan, now)
                if plan is None:
                    await self.clock.sleep(min(IDLE_POLL_S, self._renew_every), stop)
                    continue
                slots = await asyncio.to_thread(self._first_slots, plan, now)
                log.info("scheduling %d sites of session %d", len(plan.sites), plan.session_id)
            await self._enqueue_due(plan, slots)
            wait = min(census_at, slots.next_due if slots else plan.ends) - self.clock.now()
            await self.clock.sleep(max(0.0, min(wait, 1.0)), stop)

    def _plan(self, now: float) -> Plan | None:
        session: ConferenceSession | None = active_session(self.engine, as_datetime(now))
        if session is None:
            return None
        # A site skipped is reported once per plan: the worker that would sample it cannot.
        sites, _ = load_sites(self.engine, session.cadence_s, self.sampling)
        return Plan(session.id, session.starts_at.timestamp(), session.ends_at.timestamp(), sites)

    def _first_slots(self, plan: Plan, now: float) -> SlotHeap:
        """Each site's next slot; and, for a site sampled in the last `lease_s + cadence`
        seconds, every slot after its last stored one: those a dead leader (or a lost Redis)
        left unscheduled. A cluster starting afresh has none to catch up."""
        back = self.cluster.lease_s + max((site.cadence for site in plan.sites), default=0)
        slots = SlotHeap(self.sampling.jitter, self.rng)
        return plan_slots(self.engine, plan.sites, now, back, slots, catch_up=True)

    async def _enqueue_due(self, plan: Plan, slots: SlotHeap) -> None:
        """Enqueue the slots that are due (a batch at most: then the census gets its turn)."""
        if not self.workers:  # e.g. Redis restarted and no worker has beaten yet
            return
        jobs = []
        for index, slot in slots.take_due(self.clock.now(), plan.ends, ENQUEUE_BATCH):
            site = plan.sites[index]
            jobs.append(
                Job(
                    self.names.job_id(site.site.id, slot),
                    self.names.queue(owner(site.site.id, self.workers)),
                    SAMPLE_JOB,
                    (site.site.id, plan.session_id, slot, site.cadence),
                    expires_s=EXPIRE_CADENCES * site.cadence,
                )
            )
        self.enqueued += await self.enqueuer.enqueue(jobs)

    async def _census(self) -> None:
        alive, dead = await self.registry.census(self.cluster.worker_ttl_s)
        if alive != self.workers:
            log.info("workers: %d live (%s)", len(alive), ", ".join(alive))
        self.workers = alive
        for worker in dead:
            moved = await self._move_queue(worker, alive)
            log.warning("worker %s stopped beating: %d queued slots moved", worker, moved)

    async def _move_queue(self, worker: str, alive: list[str]) -> int:
        """Hand a dead worker's queued (and half-done) jobs to their sites' new owners."""
        queue = self.names.queue(worker)
        jobs = await self.redis.zrange(queue, 0, -1, withscores=True)
        if not alive:
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            for job_id, score in jobs:
                target = owner(Names.site_of(job_id.decode()), alive)
                pipe.zadd(self.names.queue(target), {job_id: score})
                pipe.delete(in_progress_key_prefix + job_id.decode())
            pipe.delete(queue)
            await pipe.execute()
        return len(jobs)
