"""Slot planning, the same for both runtimes: which sites to sample, each site's first slot,
the heap of next slots by when they are due, and the stop grace of samples in flight.

The embedded runtime samples the slots it takes from the heap; the cluster's scheduler enqueues
them as jobs. Only the first-slot rule differs by one choice: the cluster catches up the slots
a dead scheduler missed, the embedded runtime (its own scheduler) starts at the current slot.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from attendance.config import SamplingSettings, mask_url
from attendance.store.models import Site
from attendance.store.samples import recorded_slots
from attendance.store.sites import sampled_sites
from workers.sampler import site_cadence, site_problem
from workers.schedule import as_datetime, phase, slot_start

log = logging.getLogger("attendance.worker")
STOP_GRACE_S = 10.0  # samples in flight at a stop get this long before they are interrupted


@dataclass(frozen=True)
class PlannedSite:
    site: Site
    cadence: float


def load_sites(
    engine: Engine, session_cadence: int | None, sampling: SamplingSettings
) -> tuple[list[PlannedSite], dict[str, str]]:
    """The sites to sample, with their cadence; and those that cannot be (code → why)."""
    planned, skipped = [], {}
    for site in sampled_sites(engine):
        problem = site_problem(site)
        if problem:
            skipped[site.code] = problem
            log.error("site %s skipped: %s (%s)", site.code, problem, mask_url(site.stream_url))
            continue
        planned.append(PlannedSite(site, site_cadence(site, session_cadence, sampling)))
    return planned, skipped


def first_slot(
    site: PlannedSite, now: float, last_stored: float | None, catch_up: bool = False
) -> float:
    """The slot holding `now`, or the one after the last stored if that is later (a restart
    within a slot); with `catch_up`, the one after the last stored even if it is past."""
    current = slot_start(now, site.cadence, phase(site.site.code, site.cadence))
    if last_stored is None:
        return current
    following = last_stored + site.cadence
    return following if catch_up else max(current, following)


def last_slots(engine: Engine, site_ids: Sequence[int], since: float) -> dict[int, float]:
    """Each site's last stored slot (epoch s) since `since`; sites with none are left out."""
    last: dict[int, float] = {}
    for site_id, slot in recorded_slots(engine, site_ids, as_datetime(since)):
        last[site_id] = max(last.get(site_id, slot.timestamp()), slot.timestamp())
    return last


class SlotHeap:
    """Every site's next slot, by when it is due: its start plus a random part of `jitter`
    cadences, so sites of one phase do not fire in the same instant. Sites are named by their
    index in the caller's list."""

    def __init__(self, jitter: float, rng: random.Random | None = None):
        self.jitter, self.rng = jitter, rng or random.Random()
        self._heap: list[tuple[float, int, float, float]] = []

    def __len__(self) -> int:
        return len(self._heap)

    @property
    def next_due(self) -> float:
        return self._heap[0][0]

    def add(self, index: int, slot: float, cadence: float) -> None:
        due = slot + self.rng.uniform(0, self.jitter * cadence)
        heapq.heappush(self._heap, (due, index, slot, cadence))

    def take_due(self, now: float, ends: float, most: int | None = None) -> list[tuple[int, float]]:
        """The slots due by `now` (`most` at the most), as (index, slot); each one's site gets
        its following slot. Slots from `ends` on are dropped, due or not: the heap is empty
        once every site is past `ends`."""
        taken: list[tuple[int, float]] = []
        while self._heap and (most is None or len(taken) < most):
            due, index, slot, cadence = self._heap[0]
            if slot < ends and due > now:
                break
            heapq.heappop(self._heap)
            if slot < ends:
                taken.append((index, slot))
                self.add(index, slot + cadence, cadence)
        return taken


def plan_slots(
    engine: Engine,
    sites: Sequence[PlannedSite],
    now: float,
    back: float,
    heap: SlotHeap,
    catch_up: bool = False,
) -> SlotHeap:
    """`heap` filled with each site's first slot, judged by what is stored of the last `back`
    seconds."""
    last = last_slots(engine, [planned.site.id for planned in sites], now - back)
    for index, planned in enumerate(sites):
        heap.add(
            index, first_slot(planned, now, last.get(planned.site.id), catch_up), planned.cadence
        )
    return heap


async def drain(tasks: Collection[asyncio.Task], grace: float = STOP_GRACE_S) -> None:
    """Give the samples in flight `grace` seconds (real ones: they wait on cameras and the
    pool), then cancel the rest, which records them as interrupted."""
    running = [task for task in tasks if not task.done()]
    if not running:
        return
    log.info("stopping: %d samples in flight", len(running))
    _, late = await asyncio.wait(running, timeout=grace)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
