"""The queue in front of the detection pool: most urgent first, never a stale backlog.

Counting is the scarce resource (0.1–0.7 s of a core per frame); grabbing and gating are not.
Jobs wait here rather than in the pool's own first-in-first-out queue, so a site without any
count goes before a changed scene, which goes before a routine recount, and within a class the
site that has waited longest goes first. A job no process took up by its deadline is dropped:
its sample keeps the site's last count, and the site's next frame queues again with its old
place in line (the caller passes the same `since`). Unchanged sites thus wait longest.

A job the pool cannot start by its deadline, at the pace it has kept, is dropped at once
rather than at the deadline: under overload (thousands of sites without a first count) samples
are then stored in milliseconds instead of holding a frame and a job slot for the whole wait.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field

from workers.analysis import Counted, CountJob, Urgency
from workers.pool import DetectionPool

PACE_WEIGHT = 0.1  # of the latest job in the moving average of job durations


@dataclass(order=True)
class _Entry:
    key: tuple[int, float, int]  # urgency, waiting since, arrival
    job: CountJob = field(compare=False)
    future: asyncio.Future = field(compare=False)
    started: bool = field(default=False, compare=False)
    dropped: bool = field(default=False, compare=False)
    abandoned: bool = field(default=False, compare=False)  # its sampler stopped waiting


class DetectionQueue:
    def __init__(self, pool: DetectionPool):
        self.pool = pool
        self.waiting = 0
        self.in_flight = 0
        self.dropped = 0  # jobs whose deadline passed before a process was free
        self.pace: float | None = None  # seconds a process spends on a job (moving average)
        self.closed = False
        self._heap: list[_Entry] = []
        self._arrivals = itertools.count()

    async def count(
        self, job: CountJob, urgency: Urgency, since: float, deadline: float
    ) -> Counted | None:
        """The job's result, or None when it did not start by `deadline` (epoch s)."""
        future = asyncio.get_running_loop().create_future()
        entry = _Entry((urgency, since, next(self._arrivals)), job, future)
        if self._hopeless(entry, deadline):
            self.dropped += 1
            return None
        heapq.heappush(self._heap, entry)
        self.waiting += 1
        self._dispatch()
        try:
            await asyncio.wait({future}, timeout=max(0.0, deadline - time.time()))
        except asyncio.CancelledError:
            entry.abandoned = True
            self._drop(entry)
            raise
        if not future.done() and not entry.started:
            self._drop(entry)
            self.dropped += 1
            return None
        return await future

    def _hopeless(self, entry: _Entry, deadline: float) -> bool:
        """More jobs ahead of this one than the pool can start before `deadline`."""
        if self.pace is None:
            return False
        free = self.pool.size - self.in_flight
        starts = free + self.pool.size * max(0.0, deadline - time.time()) / self.pace
        ahead = sum(1 for other in self._heap if not other.dropped and other.key < entry.key)
        return ahead >= starts

    def _drop(self, entry: _Entry) -> None:
        if not entry.started and not entry.dropped:
            entry.dropped = True
            self.waiting -= 1

    def close(self) -> None:
        """Start nothing more (the pool is closing); jobs still waiting get no result."""
        self.closed = True
        for entry in self._heap:
            entry.future.cancel()
        self._heap.clear()

    def _dispatch(self) -> None:
        while not self.closed and self.in_flight < self.pool.size and self._heap:
            entry = heapq.heappop(self._heap)
            if entry.dropped:
                continue
            entry.started = True
            self.waiting -= 1
            self.in_flight += 1
            task = asyncio.ensure_future(self.pool.count(entry.job))
            started = time.monotonic()
            task.add_done_callback(
                lambda task, entry=entry, started=started: self._finished(entry, task, started)
            )

    def _finished(self, entry: _Entry, task: asyncio.Future, started: float) -> None:
        self.in_flight -= 1
        took = time.monotonic() - started
        self.pace = (
            took if self.pace is None else PACE_WEIGHT * took + (1 - PACE_WEIGHT) * self.pace
        )
        if entry.abandoned:  # nobody will read the result (or the error of a closing pool)
            if not task.cancelled():
                task.exception()
        elif not entry.future.done():  # the sampler may have stopped waiting
            if task.cancelled():
                entry.future.cancel()
            elif task.exception() is not None:
                entry.future.set_exception(task.exception())
            else:
                entry.future.set_result(task.result())
        elif not task.cancelled():
            task.exception()  # retrieved: nobody is waiting for it any more
        self._dispatch()
